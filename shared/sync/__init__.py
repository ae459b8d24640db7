"""Sync types: one small handler class each, dispatched by the registry."""
