"""Sync request messages and the queue port with its two adapters."""
