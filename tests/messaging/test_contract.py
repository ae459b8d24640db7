from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from shared.errors import InvalidMessage
from shared.messaging.contract import MAX_UNKNOWN_FIELDS, SyncRequest, Trigger
from shared.sync_types import SyncType

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _request() -> SyncRequest:
    return SyncRequest(
        account_id="acme", sync_type=SyncType.DATA_LABELS, run_id="r1",
        trigger=Trigger.SCHEDULED, enqueued_utc=NOW,
    )  # fmt: skip


def test_round_trip_and_stable_message_id() -> None:
    request = _request()
    assert SyncRequest.parse(request.to_json()) == request
    assert request.message_id == "r1-0"
    assert request.follow_up(Trigger.CONTINUATION, NOW).message_id == "r1-1"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "body"),
        ('{"version": 2}', "version"),
        (_request().to_json().replace("DataLabels", "Nope"), "sync_type"),
        (_request().to_json().replace('"acme"', '"a/b"'), "account_id"),
    ],
)
def test_invalid_messages_say_what_is_wrong(body: str, problem: str) -> None:
    with pytest.raises(InvalidMessage, match=problem):
        SyncRequest.parse(body)


def test_deferred_copies_get_their_own_message_id() -> None:
    deferred = _request().model_copy(update={"deferrals": 2})
    assert deferred.message_id == "r1-0-d2"
    assert SyncRequest.parse(deferred.to_json()).deferrals == 2


def test_the_trace_context_is_optional_and_travels_with_the_message() -> None:
    # Without a trace the body is the one the version before the field sent (and read).
    old = _request().to_json()
    assert "traceparent" not in old
    assert SyncRequest.parse(old).traceparent is None
    traced = _request().model_copy(
        update={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    assert SyncRequest.parse(traced.to_json()) == traced
    assert traced.follow_up(Trigger.CONTINUATION, NOW).traceparent == traced.traceparent
    with pytest.raises(InvalidMessage, match="traceparent"):
        SyncRequest.parse(old.replace('"r1"', '"r1","traceparent":"x"'))


def test_a_field_of_a_newer_version_is_ignored_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # During a rolling deploy a worker of this version reads what a newer one sent: a field it
    # does not know must not dead-letter the run (Service Bus would never retry it).
    newer = _request().to_json().replace('"r1"', '"r1", "priority_20261201": "high"')
    caplog.set_level(logging.WARNING, logger="shared.messaging.contract")

    assert SyncRequest.parse(newer) == _request()
    assert SyncRequest.parse(newer) == _request()

    said = [r.getMessage() for r in caplog.records if "priority_20261201" in r.getMessage()]
    assert len(said) == 1, said
    assert "ignored" in said[0]


def test_unknown_fields_do_not_excuse_a_broken_message() -> None:
    with pytest.raises(InvalidMessage, match="run_id"):
        SyncRequest.parse('{"account_id": "acme", "sync_type": "DataLabels", "later": 1}')


def test_a_message_with_more_unknown_fields_than_any_version_adds_is_refused() -> None:
    # A few fields are a newer version's; thousands are junk, dead-lettered as invalid.
    body = json.loads(_request().to_json())
    body |= {f"extra_{i}": i for i in range(MAX_UNKNOWN_FIELDS + 1)}
    with pytest.raises(InvalidMessage, match="fields this version does not know"):
        SyncRequest.parse(json.dumps(body))
    body.pop("extra_0")  # exactly the most a newer version may add
    assert SyncRequest.parse(json.dumps(body)) == _request()
