"""Fuzz: 1,000 generated posts through `receive` (bench/webhook_fuzz.py runs 10,000): never a
5xx, and the recorder sees only the posts it must (tests/webhooks/fuzz.py says which)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from shared.runtime import Runtime
from tests.pipeline.webhook_helpers import KEY, RecordingRecorder, recorder, webhook_runtime
from tests.webhooks.fuzz import Case, Tally, cases, check

__all__ = ["recorder", "webhook_runtime"]  # fixtures

EXAMPLES = 1_000


def test_generated_posts_never_get_a_5xx_and_only_valid_ones_are_recorded(
    webhook_runtime: Runtime, recorder: RecordingRecorder
) -> None:
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(cases)
    def post(case: Case) -> None:
        check(webhook_runtime, case, tally, KEY, recorder)

    post()

    assert tally.server_errors == 0
    assert tally.recorded_from["random"] == tally.recorded_from["invalid"] == 0
    kinds = {kind for kind, _ in tally.by_kind}
    assert kinds == {"random", "invalid", "neutral", "arbitrary"}
    assert tally.recorded_from["neutral"] > 0  # the valid ones do get through
