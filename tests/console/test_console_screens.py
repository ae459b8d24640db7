"""The console's first screens in a browser: Email Accounts, an account's Information with
Test Connection, Synchronisation Settings (set a schedule; Sync Now and its live statuses) and
the Sync Audit (newest first, filter by type, details expanded in place)."""

from __future__ import annotations

import threading
from datetime import timedelta

from playwright.sync_api import Page, expect

from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.storage.audit_repo import audit_row_key
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.console.conftest import checked
from tests.fixtures.sandboxes import DataverseSandbox

SLOW_SECONDS = 2.0
TABS_AT_MOST = 10  # from the main content: DataLabels' Sync Now, then CrmMetadata's


def test_accounts_list_opens_an_account_whose_connection_tests_ok(
    page: Page, console_host: LocalHost
) -> None:
    page.goto("accounts")
    expect(page.get_by_role("heading", name="Email Accounts")).to_be_visible()
    checked(page, "accounts")
    page.get_by_role("link", name="Acme newsletters").click()
    expect(page.get_by_role("heading", name="Acme newsletters")).to_be_visible()
    page.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_role("status")).to_contain_text("Test Connection succeeded")
    checked(page, "account")


def test_an_unknown_account_is_one_line_saying_what_to_do(page: Page) -> None:
    answer = page.goto("accounts/nosuch")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_have_text(
        "No email account 'nosuch' (known accounts: acme)."
    )


def test_setting_a_schedule_moves_its_next_sync(page: Page) -> None:
    page.goto("accounts/acme/schedules")
    crm = page.locator('tr[data-sync-type="CrmMetadata"]')
    expect(crm.locator('[data-live="next"]')).to_have_text("—")
    checked(page, "schedules")

    page.get_by_role("link", name="Change the schedule of CrmMetadata").click()
    expect(page.get_by_label("Sync type").first).to_have_value("CrmMetadata")
    page.get_by_label("Interval").select_option("4 hours")
    page.get_by_label("Sync window (UTC)").fill("mon-fri 18:00-08:00")
    page.get_by_role("button", name="Save Synchronisation Settings").click()

    expect(page.get_by_role("status")).to_contain_text("Saved CrmMetadata: 4 hours")
    # The test clock is Monday 2026-11-23 09:00 UTC: the window opens at 18:00.
    next_sync = crm.locator('[data-live="next"]')
    expect(next_sync.locator("time")).to_have_text("2026-11-23 18:00 UTC")
    expect(next_sync).to_contain_text("23 Nov 2026, 13:00 your time")  # New York, UTC-5

    # The CLI's validation and words: a specific time is only for Once a day.
    page.get_by_label("Sync window (UTC)").fill("specific 07:30")
    page.get_by_role("button", name="Save Synchronisation Settings").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The Specific time window is only available for the interval Once a day, not 4 hours: "
        "choose Once a day, or a window of days and times such as 'mon-fri 07:30-09:00'"
    )
    expect(page.get_by_label("Sync window (UTC)")).to_have_value("specific 07:30")
    checked(page, "schedules-refused")


def test_a_refused_schedule_keeps_what_was_typed_not_what_is_stored(page: Page) -> None:
    page.goto("accounts/acme/schedules")
    page.get_by_label("Sync type").first.select_option("CrmMetadata")
    page.get_by_label("Interval").select_option("4 hours")
    page.get_by_label("Sync window (UTC)").fill("mon-fri 18:00-08:00")
    page.get_by_role("button", name="Save Synchronisation Settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved CrmMetadata: 4 hours")

    # Change starts from what is stored, in the words the table shows (read back as typed).
    page.get_by_role("link", name="Change the schedule of CrmMetadata").click()
    expect(page.get_by_label("Interval")).to_have_value("4 hours")
    window = page.get_by_label("Sync window (UTC)")
    expect(window).to_have_value("Monday to Friday (18:00-08:00 UTC)")

    page.get_by_label("Interval").select_option("1 hour")
    window.fill("mon-fri 25:00-08:00")
    page.get_by_role("button", name="Save Synchronisation Settings").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Cannot read the time '25:00': a time of day is 00:00 to 23:59 (UTC); write it as "
        "HH:MM, e.g. 07:30"
    )
    # The form holds the refused values to correct, not the stored ones; nothing was saved.
    expect(page.get_by_label("Sync type").first).to_have_value("CrmMetadata")
    expect(page.get_by_label("Interval")).to_have_value("1 hour")
    expect(window).to_have_value("mon-fri 25:00-08:00")
    crm = page.locator('tr[data-sync-type="CrmMetadata"]')
    expect(crm.locator('[data-live="interval"]')).to_have_text("4 hours")
    checked(page, "schedules-refused-kept")

    window.fill("mon-fri 20:00-08:00")  # corrected where it was typed
    page.get_by_role("button", name="Save Synchronisation Settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved CrmMetadata: 1 hour")
    expect(crm.locator('[data-live="interval"]')).to_have_text("1 hour")


def test_sync_now_shows_queued_then_in_progress_then_none_and_the_audit_row(
    page: Page, console_host: LocalHost, dataverse_sandbox: DataverseSandbox
) -> None:
    page.goto("accounts/acme/schedules")
    status = page.locator('tr[data-sync-type="CrmMetadata"] [data-live="status"]')
    expect(status).to_have_text("None")
    page.get_by_role("button", name="Sync Now: CrmMetadata").click()
    expect(page.get_by_role("status")).to_contain_text("CrmMetadata added to the queue (run ")
    expect(status).to_have_text("Added to Queue")
    checked(page, "schedules-queued")

    # The worker takes the run while Dataverse answers slowly: the page, polling, sees it
    # running; then Dataverse is quick again and the run ends.
    dataverse_sandbox.state.faults.latency_seconds = SLOW_SECONDS
    worker = threading.Thread(target=console_host.drain)
    worker.start()
    try:
        expect(status).to_have_text("Synchronising In Progress")  # no reload: the page polls
    finally:
        dataverse_sandbox.state.faults.latency_seconds = 0.0
        worker.join(timeout=60)
    expect(status).to_have_text("None")
    expect(page.locator('tr[data-sync-type="CrmMetadata"] [data-live="result"]')).to_contain_text(
        "Completed"
    )

    page.get_by_role("link", name="Sync Audit").click()
    first = page.locator("tbody tr").first
    expect(first.get_by_role("link")).to_have_text("CrmMetadata")
    expect(first).to_contain_text("Completed")
    expect(first.locator("td").nth(1)).to_have_text("Manual")  # the trigger of a Sync Now


def test_audit_newest_first_filtered_by_type_with_a_lists_details_in_place(
    page: Page, sync_runtime: Runtime, console_host: LocalHost
) -> None:
    now = sync_runtime.clock()
    key = ""
    for minutes, sync_type, message in (
        (30, SyncType.DATA_LABELS, "2 data labels created"),
        (20, SyncType.CRM_METADATA, "104 mappable CRM fields"),
        (10, SyncType.MARKETING_LISTS_DATA_OUT, "1 marketing list: 3 members sent"),
    ):
        started = now - timedelta(minutes=minutes)
        key = audit_row_key(started, f"run-{minutes}")
        sync_runtime.audit.write(AuditRecord(
            account_id="acme", row_key=key, run_id=f"run-{minutes}", sync_type=sync_type,
            trigger="Scheduled", status=AuditStatus.COMPLETED, started=started,
            finished=started + timedelta(seconds=40), message=message,
            counts=Counts(read=3, created=3),
        ))  # fmt: skip
    sync_runtime.audit.add_detail("acme", key, AuditDetail(
        item="Demo newsletter", status=AuditStatus.COMPLETED, message="3 contacts sent",
        counts=Counts(read=3, created=3),
    ))  # fmt: skip

    page.goto("accounts/acme/audit")
    types = page.locator("tbody tr th a")
    expect(types).to_have_text(["MarketingListsDataOut", "CrmMetadata", "DataLabels"])
    checked(page, "audit")

    page.get_by_label("Sync type").select_option("CrmMetadata")
    page.get_by_role("button", name="Search").click()
    expect(types).to_have_text(["CrmMetadata"])
    page.get_by_label("Sync type").select_option("")
    page.get_by_label("Started since (UTC)").fill("2026-11-23T08:35")
    page.get_by_role("button", name="Search").click()
    expect(types).to_have_text(["MarketingListsDataOut", "CrmMetadata"])
    page.get_by_role("link", name="Clear").click()

    lists = page.get_by_role("link", name="MarketingListsDataOut")
    lists.click()
    expect(lists).to_have_attribute("aria-expanded", "true")
    details = page.locator("tr.expanded")
    expect(details.get_by_role("rowheader")).to_have_text("Demo newsletter")
    expect(details).to_contain_text("3 contacts sent")
    checked(page, "audit-details")
    lists.click()
    expect(details).to_have_count(0)


def test_an_account_without_syncs_says_so(page: Page) -> None:
    page.goto("accounts/acme/audit")
    expect(page.locator(".empty")).to_have_text("No syncs in the last 30 days.")
    page.get_by_label("Sync type").select_option("Forms")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".empty")).to_have_text("No syncs match these filters in the last 30 days.")


def test_the_keyboard_alone_reaches_sync_now(page: Page, sync_runtime: Runtime) -> None:
    page.goto("accounts/acme/schedules")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    target = page.get_by_role("button", name="Sync Now: CrmMetadata")
    for _ in range(TABS_AT_MOST):
        page.keyboard.press("Tab")
        if target.evaluate("button => button === document.activeElement"):
            break
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("CrmMetadata added to the queue")
    status = sync_runtime.schedules.get("acme", SyncType.CRM_METADATA).status
    assert status is ScheduleStatus.QUEUED


def test_a_daily_schedules_next_synchronisation_is_chosen_by_date_and_time(page: Page) -> None:
    page.goto("accounts/acme/schedules")
    page.get_by_label("Sync type").first.select_option("DataLabels")
    page.get_by_label("Interval").select_option("Once a day")
    page.get_by_label("Sync window (UTC)").fill("specific 07:30")
    page.get_by_role("button", name="Save Synchronisation Settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved DataLabels: Once a day")

    page.locator("#start-type").select_option("DataLabels")
    page.get_by_label("Date").fill("2026-12-01")
    page.get_by_label("Time (UTC)").fill("06:15")
    page.get_by_role("button", name="Save Next Synchronisation").click()
    expect(page.get_by_role("status")).to_have_text(
        "Saved DataLabels: next sync 2026-12-01 06:15 UTC."
    )
    next_sync = page.locator('tr[data-sync-type="DataLabels"] [data-live="next"] time')
    expect(next_sync).to_have_text("2026-12-01 06:15 UTC")


def test_an_account_renamed_and_disabled_refuses_sync_now_in_one_line(page: Page) -> None:
    page.goto("accounts/acme")
    page.get_by_label("Account Name").fill("Acme marketing")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme marketing")
    page.get_by_role("button", name="Disable the account").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing runs for it until it is enabled.")

    page.get_by_role("link", name="Synchronisation Settings").click()
    page.get_by_role("button", name="Sync Now: CrmMetadata").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("disabled")
    assert "\n" not in alert.inner_text()
    checked(page, "schedules-disabled")


def test_the_audit_pages_back_in_time_and_returns_to_the_newest(
    page: Page, sync_runtime: Runtime, console_host: LocalHost
) -> None:
    now = sync_runtime.clock()
    for minute in range(1, 26):
        started = now - timedelta(minutes=minute)
        sync_runtime.audit.write(AuditRecord(
            account_id="acme", row_key=audit_row_key(started, f"run-{minute}"),
            run_id=f"run-{minute}", sync_type=SyncType.CRM_METADATA, trigger="Scheduled",
            status=AuditStatus.COMPLETED, started=started, finished=started,
        ))  # fmt: skip
    page.goto("accounts/acme/audit")
    rows = page.locator("tbody tr[data-run]")
    expect(rows).to_have_count(20)
    expect(rows.first.locator("time").first).to_have_text("2026-11-23 08:59 UTC")
    page.get_by_role("link", name="Older syncs").click()
    expect(rows).to_have_count(5)
    expect(rows.last.locator("time").first).to_have_text("2026-11-23 08:35 UTC")
    expect(page.get_by_role("link", name="Older syncs")).to_have_count(0)
    page.get_by_role("link", name="Newest").click()
    expect(rows).to_have_count(20)
