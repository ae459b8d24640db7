"""Suppressions and preferences through the admin API: an account's suppression rows from
Dynamics in pages, Request Resubscribe, a record's preferences, and their refusals."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.api.conftest import problem
from tests.fixtures.sandboxes import DataverseSandbox

ROWS = "dms_emailsuppression"


def _row(dataverse_sandbox: DataverseSandbox, email: str, account: str = "acme") -> str:
    row: str = dataverse_sandbox.state.insert(
        ROWS, {"dms_email": email, "dms_emailaccountid": account, "dms_reason": "Unsubscribed"}
    )
    return row


def test_suppressions_page_and_filter_by_email(
    api: httpx.Client, acme_api: dict[str, Any], dataverse_sandbox: DataverseSandbox
) -> None:
    mine = {f"p{n}@example.org" for n in range(3)}
    for email in sorted(mine):
        _row(dataverse_sandbox, email)
    _row(dataverse_sandbox, "other@example.org", account="globex")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = api.get("/accounts/acme/suppressions", params=params)
        assert answer.status_code == 200, answer.text
        seen += [s["email"] for s in answer.json()["suppressions"]]
        if (cursor := answer.json()["next_cursor"]) is None:
            break
    assert sorted(seen) == sorted(mine)
    one = api.get("/accounts/acme/suppressions", params={"email": "P1@example.org"}).json()
    assert [s["email"] for s in one["suppressions"]] == ["p1@example.org"]
    refused = problem(
        api.get("/accounts/acme/suppressions", params={"cursor": "bm90LW91cnM="}), 422
    )
    assert refused["detail"] == "The cursor is not one this API returned: start again without it."


def test_request_resubscribe_flags_the_row_and_queues_the_sync(
    api: httpx.Client,
    acme_api: dict[str, Any],
    dataverse_sandbox: DataverseSandbox,
    sync_runtime: Runtime,
) -> None:
    row_id = _row(dataverse_sandbox, "ada@example.com")
    answer = api.post(f"/accounts/acme/suppressions/{row_id}/resubscribe")
    assert answer.status_code == 200, answer.text
    assert answer.json()["sync_queued"] is True
    assert answer.json()["suppression"]["resubscribe_requested"] is True
    record = sync_runtime.schedules.get("acme", SyncType.SUPPRESSION_LISTS)
    assert record.status is ScheduleStatus.QUEUED
    other = _row(dataverse_sandbox, "other@example.org", account="globex")
    assert (
        "suppressions list acme"
        in problem(api.post(f"/accounts/acme/suppressions/{other}/resubscribe"), 404)["detail"]
    )
    assert problem(api.post("/accounts/acme/suppressions/not-a-guid/resubscribe"), 422)


def test_preferences_of_a_record_and_a_record_that_names_nothing(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    answer = api.get(f"/accounts/acme/preferences/contact:{uuid.uuid4()}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == []
    refused = problem(api.get("/accounts/acme/preferences/nobody"), 422)
    assert refused["detail"].startswith("'nobody' names no record")
