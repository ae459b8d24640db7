"""After an incident, in the browser: Request Resubscribe on a suppression, a dead letter
replayed (kept: nothing can use it) then discarded, failed records and the reconciliation
report of an account where all is well."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shared.localhost.host import LocalHost
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.console.conftest import checked
from tests.fixtures.sandboxes import DataverseSandbox

NOT_JSON = '{"account_id": "acme", "sync_type": "CrmMetadata"'  # cut short


def test_request_resubscribe_flags_the_suppression_and_queues_its_sync(
    page: Page, dataverse_sandbox: DataverseSandbox, sync_runtime: Runtime
) -> None:
    dataverse_sandbox.state.insert(
        "dms_emailsuppression",
        {
            "dms_email": "ada@example.com",
            "dms_emailaccountid": "acme",
            "dms_reason": "Unsubscribed",
        },
    )
    page.goto("accounts/acme/suppressions")
    row = page.locator('tr[data-suppression="ada@example.com"]')
    expect(row).to_contain_text("Unsubscribed")
    checked(page, "suppressions")
    page.get_by_role("button", name="Request Resubscribe: ada@example.com").click()
    expect(page.get_by_role("status")).to_contain_text("SuppressionLists")
    expect(row).to_contain_text("Requested")
    status = sync_runtime.schedules.get("acme", SyncType.SUPPRESSION_LISTS).status
    assert status is ScheduleStatus.QUEUED

    page.get_by_label("Email address").fill("nobody@example.com")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".empty")).to_have_text("No suppression of nobody@example.com.")


def test_a_dead_letter_no_worker_can_use_is_kept_by_replay_then_discarded(
    page: Page, sync_runtime: Runtime, console_host: LocalHost
) -> None:
    queue = sync_runtime.queue
    assert isinstance(queue, StorageQueueAdapter)
    queue.queue.send_message(NOT_JSON)
    console_host.drain()

    page.goto("dead-letters")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("Invalid sync request")
    checked(page, "dead-letters")
    page.get_by_role("button", name="Replay every dead letter").click()
    expect(page.locator("tbody tr")).to_have_count(1)  # kept: a replay cannot fix its body
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_role("status")).to_have_text("Removed without sending it.")
    expect(page.locator(".empty")).to_have_text(
        "No dead letters: every run's messages were delivered."
    )


def test_failed_records_and_reconciliation_of_an_account_where_all_is_well(page: Page) -> None:
    page.goto("accounts/acme/failed")
    expect(page.locator(".empty")).to_contain_text("No failed records")
    checked(page, "failed")
    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_role("button", name="Compare now").click()
    expect(page.get_by_role("status")).to_contain_text("every list agrees with its address book")
    expect(page.locator(".empty")).to_have_text(
        "No email-activated marketing lists use this account."
    )
    checked(page, "reconciliation")
