"""Schedules and the audit through the admin API: set an interval and window, a start date,
Sync Now (202, then 409 while queued), and the run it queued read back from the audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.accounts import Platform
from shared.audit import AuditRecord, AuditStatus
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.storage.audit_repo import audit_row_key
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.api.conftest import problem
from tests.fixtures.runtime import ManualClock


def test_schedules_list_every_sync_type(api: httpx.Client, acme_api: dict[str, Any]) -> None:
    rows = api.get("/accounts/acme/schedules").json()
    assert {r["sync_type"] for r in rows} == {
        t.value for t in catalogue().sync_types(Platform.DOTDIGITAL)
    }
    assert all(r["interval"] == "Manual Sync Only" for r in rows)


def test_set_interval_and_window_answers_the_next_runs(
    api: httpx.Client, acme_api: dict[str, Any], sync_runtime: Runtime
) -> None:
    answer = api.put(
        "/accounts/acme/schedules/CrmMetadata",
        json={"interval": "4 hours", "window": "mon-fri 08:00-18:00"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["schedule"]["interval"] == "4 hours"
    assert (
        body["schedule"]["window"]
        == sync_runtime.schedules.get("acme", SyncType.CRM_METADATA).spec.window.describe()
    )
    assert len(body["upcoming"]) == 6
    refused = api.put(
        "/accounts/acme/schedules/CrmMetadata",
        json={"interval": "4 hours", "window": "specific 07:30"},
    )
    assert problem(refused, 422)["detail"] == (
        "The Specific time window is only available for the interval Once a day, not 4 hours: "
        "choose Once a day, or a window of days and times such as 'mon-fri 07:30-09:00'"
    )
    unknown = problem(api.put("/accounts/acme/schedules/Nosuch", json={"interval": "1 hour"}), 422)
    assert unknown["detail"].startswith("path.syncType: Input should be 'DataLabels'")


def test_start_date_and_time_of_a_daily_schedule(
    api: httpx.Client, acme_api: dict[str, Any], clock: ManualClock
) -> None:
    daily = {"interval": "Once a day", "window": "specific 07:30"}
    assert api.put("/accounts/acme/schedules/DataLabels", json=daily).status_code == 200
    day = (clock() + timedelta(days=3)).date()
    answer = api.put(
        "/accounts/acme/schedules/DataLabels/start", json={"date": day.isoformat(), "time": "06:15"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["next_sync"].startswith(f"{day.isoformat()}T06:15")
    bad = api.put(
        "/accounts/acme/schedules/DataLabels/start", json={"date": day.isoformat(), "time": "25:30"}
    )
    assert problem(bad, 422)["detail"] == (
        "Cannot read the time '25:30': a time of day is 00:00 to 23:59 (UTC); write it as HH:MM, "
        "e.g. 07:30"
    )
    seconds = api.put(
        "/accounts/acme/schedules/DataLabels/start",
        json={"date": day.isoformat(), "time": "06:15:30"},
    )  # refused, not cut to 06:15 as the row would store it
    assert problem(seconds, 422)["detail"] == (
        "Cannot read the time '06:15:30': schedules keep whole minutes; write it as HH:MM, "
        "e.g. 07:30"
    )


def test_sync_now_is_accepted_once_then_409_while_queued_and_the_run_reaches_the_audit(
    api: httpx.Client, acme_api: dict[str, Any], api_host: LocalHost
) -> None:
    url = "/accounts/acme/schedules/CrmMetadata/sync-now"
    first = api.post(url)
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] is True
    again = problem(api.post(url), 409)
    assert again["detail"] == "CrmMetadata is already 'Added to Queue': nothing changed."

    api_host.drain()
    page = api.get("/accounts/acme/audit", params={"syncType": "CrmMetadata"}).json()
    assert [r["status"] for r in page["runs"]] == [AuditStatus.COMPLETED.value]
    row_key = page["runs"][0]["row_key"]
    run = api.get(f"/accounts/acme/audit/{row_key}").json()
    assert run["run"] == page["runs"][0]
    assert isinstance(run["details"], list)
    assert api.post(url, params={"dryRun": "true"}).status_code == 202


def test_sync_now_of_a_disabled_account_is_a_conflict(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    api.post("/accounts/acme/disable")
    refused = problem(api.post("/accounts/acme/schedules/CrmMetadata/sync-now"), 409)
    assert "is disabled: enable it before syncing" in refused["detail"]


def test_audit_pages_and_filters_newest_first(
    api: httpx.Client, acme_api: dict[str, Any], sync_runtime: Runtime, clock: ManualClock
) -> None:
    for n in range(5):
        started = clock() - timedelta(hours=5 - n)
        sync_runtime.audit.write(
            AuditRecord(
                account_id="acme",
                row_key=audit_row_key(started, f"run-{n}"),
                run_id=f"run-{n}",
                sync_type=SyncType.DATA_LABELS,
                trigger="Scheduled",
                status=AuditStatus.COMPLETED,
                started=started,
                finished=started + timedelta(minutes=1),
            )
        )
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/accounts/acme/audit", params=params).json()
        seen += [r["run_id"] for r in page["runs"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ["run-4", "run-3", "run-2", "run-1", "run-0"]
    since = (clock() - timedelta(hours=2, minutes=30)).isoformat()
    recent = api.get("/accounts/acme/audit", params={"since": since}).json()
    assert [r["run_id"] for r in recent["runs"]] == ["run-4", "run-3"]
    assert problem(api.get("/accounts/acme/audit", params={"limit": 0}), 422)["detail"] == (
        "query.limit: Input should be greater than or equal to 1"
    )
    missing = problem(api.get("/accounts/acme/audit/0000000000000000000_nosuch"), 404)
    assert missing["detail"].startswith("No audit row '0000000000000000000_nosuch'")
