"""After an incident, through the admin API: dead letters listed, replayed and discarded; a
run's failed records; the drift report of reconciliation; and their errors as problem+json."""

from __future__ import annotations

from typing import Any

import httpx

from shared.localhost.host import LocalHost
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.runtime import Runtime
from tests.api.conftest import problem

NOT_JSON = '{"account_id": "acme", "sync_type": "CrmMetadata"'  # cut short


def test_an_unusable_dead_letter_is_listed_kept_by_replay_and_discarded(
    api: httpx.Client, acme_api: dict[str, Any], sync_runtime: Runtime, api_host: LocalHost
) -> None:
    queue = sync_runtime.queue
    assert isinstance(queue, StorageQueueAdapter)
    queue.queue.send_message(NOT_JSON)
    api_host.drain()

    [letter] = api.get("/dead-letters").json()
    assert letter["state"] == "unusable" and "Invalid sync request" in letter["reason"]
    replayed = api.post("/dead-letters/replay")
    assert replayed.status_code == 200, replayed.text
    assert [r["outcome"] for r in replayed.json()["results"]] == ["kept"]
    assert len(api.get("/dead-letters").json()) == 1

    discarded = api.delete(f"/dead-letters/{letter['letter_id']}")
    assert discarded.status_code == 200, discarded.text
    assert discarded.json()["message"] == "Removed without sending it."
    assert api.get("/dead-letters").json() == []
    gone = problem(api.delete(f"/dead-letters/{letter['letter_id']}"), 404)
    assert gone["detail"].startswith(f"No dead letter '{letter['letter_id']}'")


def test_failed_records_and_their_retry_of_an_account_without_failures(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    assert api.get("/accounts/acme/failed").json() == []
    assert api.post("/accounts/acme/failed/retry").json() == []
    missing = problem(api.get("/accounts/acme/failed", params={"runId": "nosuch"}), 404)
    assert missing["detail"] == "No run 'nosuch' in the audit of 'acme' (see `audit acme`)."
    assert problem(api.get("/accounts/nosuch/failed"), 404)


def test_reconciliation_reports_and_names_an_unknown_list(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    answer = api.get("/accounts/acme/reconciliation")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["account_id"] == "acme" and report["lists"] == [] and report["agree"] is True
    unknown = problem(api.get("/accounts/acme/reconciliation", params={"list": "Nosuch"}), 422)
    assert "Nosuch" in unknown["detail"]


def test_reconciliation_of_an_account_without_a_password_setting_is_a_report_not_a_500(
    api: httpx.Client,
) -> None:
    # Found by schemathesis: an account added without api_password_secret_name (allowed, as
    # with `accounts add`) made reconciliation sign in before it knew of any list to compare.
    added = api.post("/accounts", json={"account_id": "bare", "name": "Bare"})
    assert added.status_code == 201, added.text
    answer = api.get("/accounts/bare/reconciliation")
    assert answer.status_code == 200, answer.text
    assert answer.json()["lists"] == [] and answer.json()["agree"] is True
