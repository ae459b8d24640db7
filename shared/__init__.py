"""Dynamics Marketing Sync: the product as a plain Python package (no Functions host needed)."""
