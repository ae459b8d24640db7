"""The webhook inbox in Azurite: events once, targets as one row per record, consumption that
keeps what moved on, purge by day, and rows an operator edited by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.runtime import Runtime
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent
from shared.webhooks.targets import Target, TargetKind
from tests.webhooks.events import change_event

OUT = SyncType.MARKETING_LISTS_DATA_OUT
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _event(record_id: str, when: datetime = T0, version: str = "1") -> ChangeEvent:
    return change_event(
        "Update", "contact", record_id, version=version, when=when, attributes={"jobtitle": "CTO"}
    )


def _member(record_id: str) -> Target:
    return Target(OUT, TargetKind.MEMBER, "contact", record_id)


def test_an_event_is_recorded_once(runtime: Runtime) -> None:
    events = runtime.webhook_events
    event = _event("c1")
    assert not events.seen(event)
    assert events.record(event, received=T0, targets="acme: MarketingListsDataOut")
    assert events.seen(event)
    assert not events.record(event, received=T0, targets="")


def test_events_are_purged_by_day(runtime: Runtime) -> None:
    events = runtime.webhook_events
    old, recent = _event("c1", T0 - timedelta(days=31)), _event("c2", T0)
    for event in (old, recent):
        events.record(event, received=T0, targets="")
    assert events.purge(T0 - timedelta(days=30)) == 1
    assert (events.seen(old), events.seen(recent)) == (False, True)


def test_many_events_of_one_record_are_one_target(runtime: Runtime) -> None:
    targets = runtime.webhook_targets
    for n in range(3):
        targets.note("acme", _member("c1"), _event("c1", version=str(n)), T0 + timedelta(seconds=n))
    targets.note("acme", _member("c2"), _event("c2"), T0)
    targets.note("acme", Target(SyncType.SUPPRESSION_LISTS, TargetKind.ALL), _event("s"), T0)

    pending = {t.record_id: t for t in targets.pending("acme", OUT)}
    assert set(pending) == {"c1", "c2"}
    assert (pending["c1"].first_event, pending["c1"].last_event) == (T0, T0 + timedelta(seconds=2))
    assert targets.pending_pairs() == {
        ("acme", OUT): T0 + timedelta(seconds=2),
        ("acme", SyncType.SUPPRESSION_LISTS): T0,
    }


def test_a_run_consumes_what_arrived_before_it_and_keeps_the_rest(runtime: Runtime) -> None:
    targets = runtime.webhook_targets
    targets.note("acme", _member("early"), _event("early"), T0)
    targets.note("acme", _member("late"), _event("late"), T0 + timedelta(seconds=30))

    assert targets.consume("acme", OUT, before=T0 + timedelta(seconds=10)) == 1
    assert [t.record_id for t in targets.pending("acme", OUT)] == ["late"]
    assert targets.newest("acme", OUT) == T0 + timedelta(seconds=30)


def test_hand_edited_rows_are_read_safely(runtime: Runtime) -> None:
    table = runtime.tables.client("WebhookTargets")
    table.create_entity(
        {"PartitionKey": "acme", "RowKey": f"{OUT.value}|bogus||", "Kind": "bogus",
         "LastEventUtc": T0}
    )  # fmt: skip
    table.create_entity({"PartitionKey": "acme", "RowKey": "NotAType|x", "LastEventUtc": T0})

    [target] = runtime.webhook_targets.pending("acme", OUT)
    assert target.kind is TargetKind.ALL  # an unreadable kind syncs the whole type
    assert runtime.webhook_targets.pending_pairs() == {("acme", OUT): T0}
