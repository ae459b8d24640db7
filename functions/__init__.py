"""Thin Azure Functions adapters: parse the trigger, call `shared`, nothing else."""
