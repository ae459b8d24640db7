"""schemathesis against the admin API's own OpenAPI document, over real HTTP on the local host
(small; `make fuzz-admin-api` runs the large one): no answer is a 5xx and every answer matches
the spec (status documented, body of the documented schema).

It runs schemathesis's `st run` as the bench does (bench/admin_api_fuzz.py): its pytest
loader (`from_fixture`) does not run under this pytest."""

from __future__ import annotations

from bench.admin_api_fuzz import fuzz, seed
from sandbox.launch import Sandboxes
from shared.localhost.host import LocalHost
from shared.runtime import Runtime


def test_no_5xx_and_every_answer_matches_the_spec(
    api_host: LocalHost, sync_runtime: Runtime, sandboxes: Sandboxes
) -> None:
    seed(sync_runtime, sandboxes)  # the `demo` account the document's examples name
    api_host.drain()
    outcome = fuzz(api_host.base_url, examples=5, seed_value=0)
    assert outcome.exit_code == 0, outcome.summary
    assert outcome.tests > 0 and outcome.failures == outcome.errors == 0
    assert not [key for key in outcome.statuses if key[1] >= 500]
    # The seeded account is reached, not only 404s.
    assert any(status == 200 and "{accountId}" in op for op, status in outcome.statuses)
