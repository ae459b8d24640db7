"""Benchmarks: figures measured against the local sandboxes, reported as ratios from one run.

`python -m bench.contacts_push` (or `make bench`) pushes Dataverse contacts into a Dotdigital
address book with the product's clients and with a naive one-call-per-record client, and
writes `bench/results/contacts_push.md`. Speed and memory targets live here, never in timed
unit tests; `tests/bench/` only checks that the benchmark still runs and counts calls right.
"""
