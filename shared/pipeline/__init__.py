"""The run pipeline: scheduler tick, worker, Sync Now, schedule changes, audit purge."""
