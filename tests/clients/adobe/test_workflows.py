"""Workflow signals against the ACS sandbox: a trigger, the 10-minute lockout (an answer that
is not JSON) as a clear retriable error, undeclared parameters refused, a lost answer never
resent."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sandbox.adobe import TRIGGER
from sandbox.clock import ManualClock
from shared.clients.adobe import AdobeCampaignClient, EngineRefusal, SignalLockedOut
from shared.errors import Category, OutcomeUnknown
from tests.fixtures.sandboxes import AdobeSandbox


@pytest.fixture
def workflow(adobe_sandbox: AdobeSandbox) -> str:
    adobe_sandbox.state.add_workflow(
        "WKF12", "Import contacts", signals={"signal1": ("fileName", "parts")}
    )
    return "WKF12"


def test_the_workflow_lists_its_signal_activities(
    adobe_client: AdobeCampaignClient, workflow: str
) -> None:
    found = adobe_client.workflow(workflow)
    assert found.state == "started" and found.label == "Import contacts"
    signal = found.signal("signal1")
    assert signal is not None and signal.trigger_href.endswith("/signal1/trigger")


def test_a_second_trigger_within_ten_minutes_is_locked_out_until_the_time_it_names(
    adobe_client: AdobeCampaignClient,
    adobe_sandbox: AdobeSandbox,
    workflow: str,
    sandbox_clock: ManualClock,
) -> None:
    adobe_client.trigger_signal(workflow, "signal1", source="connector", parameters={"parts": 3})
    sandbox_clock.advance(60)
    with pytest.raises(SignalLockedOut) as locked:
        adobe_client.trigger_signal(workflow, "signal1", source="connector")
    assert locked.value.category is Category.RETRIABLE
    assert "locked out" in str(locked.value) and locked.value.next_allowed_at
    assert f"next allowed at {locked.value.next_allowed_at}" in str(locked.value)
    assert adobe_sandbox.state.counters.count("POST", TRIGGER) == 2  # not retried in place
    assert sandbox_clock.sleeps == []
    sandbox_clock.advance(540)
    adobe_client.trigger_signal(workflow, "signal1", source="connector")
    assert [t.parameters for t in adobe_sandbox.state.triggers] == [{"parts": 3}, {}]


def test_an_undeclared_parameter_or_activity_is_refused(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox, workflow: str
) -> None:
    with pytest.raises(EngineRefusal, match="isn't defined in signal activity"):
        adobe_client.trigger_signal(workflow, "signal1", source="c", parameters={"other": 1})
    with pytest.raises(EngineRefusal, match="no signal activity 'signal9'"):
        adobe_client.trigger_signal(workflow, "signal9", source="c")
    assert adobe_sandbox.state.triggers == []


def test_a_lost_answer_to_a_trigger_is_outcome_unknown(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox, workflow: str
) -> None:
    trigger_path = urlsplit(adobe_client.workflow(workflow).signals[0].trigger_href).path
    adobe_sandbox.state.faults.lose_response_next(path=trigger_path)
    with pytest.raises(OutcomeUnknown):
        adobe_client.trigger_signal(workflow, "signal1", source="connector")
    assert len(adobe_sandbox.state.triggers) == 1  # it happened, once
    assert adobe_sandbox.state.counters.count("POST", TRIGGER) == 1
