"""Recovering from a real failure in the browser: a list sync's failed members are listed with
their key and reason, retried once the cause is fixed, and gone after the Retry run; a run whose
message was dead-lettered is replayed from Dead letters once its cause is fixed, and its audit
row appears."""

from __future__ import annotations

from azure.data.tables import UpdateMode
from playwright.sync_api import Page, expect

from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.console.conftest import checked
from tests.fixtures.email_lists import seed_email_lists
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import audit_one_failed_record, run_scheduled

OUT = SyncType.MARKETING_LISTS_DATA_OUT
CRM = SyncType.CRM_METADATA
BAD = ("not-an-email", "also@not@valid")
FIXED = ("fixed.one@example.com", "fixed.two@example.com")


def test_failed_members_are_listed_retried_from_the_page_and_gone_after_the_retry_run(
    page: Page,
    sync_runtime: Runtime,
    console_host: LocalHost,
    clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:
    rt, dv = sync_runtime, dataverse_sandbox
    lists = seed_email_lists(rt, dv, dotdigital_sandbox)
    members = sorted(dv.state.list_members(lists["Newsletter"]))[:2]
    for contact_id, email in zip(members, BAD, strict=True):
        dv.state.update("contact", contact_id, {"emailaddress1": email})
    first = run_scheduled(rt, console_host, clock, "acme", OUT)
    assert first.status is AuditStatus.COMPLETED_WITH_ERRORS and first.counts.failed == 2

    page.goto("accounts/acme/failed")
    run = page.locator("section.failed-run")
    expect(run.get_by_role("heading")).to_contain_text("MarketingListsDataOut")
    expect(run.get_by_role("heading")).to_contain_text("Completed With Errors")
    expect(run.locator(".help")).to_have_text(
        "Syncs the lists named here again, in a run with trigger Retry."
    )
    records = run.locator("tbody tr")
    expect(records).to_have_count(2)
    for email in BAD:
        record = records.filter(has_text=email)
        expect(record.get_by_role("rowheader")).to_have_text("Newsletter")
        expect(record.locator("td").nth(0)).to_have_text(email)
        expect(record.locator("td").nth(1)).to_contain_text("InvalidEmail")
    checked(page, "failed-records")

    # The cause fixed in Dynamics, the operator retries just that list.
    for contact_id, email in zip(members, FIXED, strict=True):
        dv.state.update("contact", contact_id, {"emailaddress1": email})
    clock.advance(minutes=1)
    page.get_by_role("button", name="Retry failed records").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Retry run {rt.schedules.get('acme', OUT).run_id} queued for Newsletter."
    )
    console_host.drain()

    page.reload()
    expect(page.locator(".empty")).to_contain_text("No failed records")
    page.get_by_role("link", name="Sync Audit").click()
    newest = page.locator("tbody tr[data-run]").first
    expect(newest.get_by_role("link")).to_have_text("MarketingListsDataOut")
    expect(newest.locator("td").nth(1)).to_have_text("Retry")
    expect(newest).to_contain_text("Completed")
    expect(newest).not_to_contain_text("With Errors")


def test_a_type_that_cannot_be_retried_by_record_points_to_sync_now(
    page: Page, sync_runtime: Runtime, console_host: LocalHost
) -> None:
    rt = sync_runtime
    audit_one_failed_record(
        rt, "acme", SyncType.SUPPRESSION_LISTS, "x@example.com", "Dynamics refused the write"
    )

    page.goto("accounts/acme/failed")
    run = page.locator("section.failed-run")
    expect(run.locator("tbody tr")).to_contain_text("Dynamics refused the write")
    expect(run.get_by_role("button", name="Retry failed records")).to_have_count(0)
    expect(run.locator(".help")).to_contain_text("SuppressionLists runs cannot be limited")
    run.get_by_role("link", name="Synchronisation Settings").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Synchronisation Settings")
    assert console_host.drain() == 0  # reading the page queued nothing


def test_a_dead_lettered_run_is_replayed_from_the_page_once_fixed_and_its_audit_row_appears(
    page: Page, sync_runtime: Runtime, console_host: LocalHost
) -> None:
    rt = sync_runtime
    page.goto("accounts/acme/schedules")
    page.get_by_role("button", name="Sync Now: CrmMetadata").click()
    expect(page.get_by_role("status")).to_contain_text("CrmMetadata added to the queue")
    run_id = rt.schedules.get("acme", CRM).run_id
    # Storage Explorer: the row is broken by hand while its run waits; the worker cannot start
    # it and dead-letters the (good) message.
    table = rt.tables.client("SyncSchedules")
    entity = dict(table.get_entity("acme", CRM.value))
    table.update_entity({**entity, "Interval": "every fortnight"}, mode=UpdateMode.REPLACE)
    console_host.drain()
    queue = rt.queue
    assert isinstance(queue, StorageQueueAdapter) and len(queue.poison_messages()) == 1

    page.get_by_role("link", name="Dead letters").click()
    letter = page.locator("tbody tr")
    expect(letter).to_have_count(1)
    expect(letter).to_contain_text("CrmMetadata")
    expect(letter).to_contain_text("every fortnight")
    expect(letter).to_contain_text("waiting")
    page.get_by_role("button", name="Replay every dead letter").click()
    expect(letter).to_have_count(1)  # kept: its cause is still there
    checked(page, "dead-letters-waiting")

    # The fix, in Synchronisation Settings; then the replay runs the same run.
    page.goto("accounts/acme/schedules")
    page.get_by_label("Sync type").first.select_option("CrmMetadata")
    page.get_by_label("Interval").select_option("1 hour")
    page.get_by_role("button", name="Save Synchronisation Settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved CrmMetadata: 1 hour")
    page.get_by_role("link", name="Dead letters").click()
    expect(letter).to_contain_text("ready")
    letter.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text(run_id)
    expect(page.locator(".empty")).to_have_text(
        "No dead letters: every run's messages were delivered."
    )
    console_host.drain()

    page.goto("accounts/acme/audit")
    runs = page.locator("tbody tr[data-run]")
    crm = runs.filter(has=page.get_by_role("link", name="CrmMetadata", exact=True))
    expect(crm.first).to_contain_text("Completed")
    expect(crm.first.locator("td").nth(1)).to_have_text("Manual")
    completed = [r for r in rt.audit.recent("acme", sync_type=CRM) if r.run_id == run_id]
    assert [r.status for r in completed] == [AuditStatus.COMPLETED]
    checked(page, "audit-after-replay")


def test_a_list_in_a_runs_details_links_to_its_reconciliation(
    page: Page,
    sync_runtime: Runtime,
    console_host: LocalHost,
    clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:
    seed_email_lists(sync_runtime, dataverse_sandbox, dotdigital_sandbox)
    run_scheduled(sync_runtime, console_host, clock, "acme", OUT)

    page.goto("accounts/acme/audit")
    page.get_by_role("link", name="MarketingListsDataOut").click()
    details = page.locator("tr.expanded")
    expect(details.get_by_role("rowheader")).to_have_count(2)  # Newsletter, Prospects
    checked(page, "audit-list-details")
    details.get_by_role("link", name="Reconcile the list Newsletter with its address book").click()

    expect(page.get_by_role("status")).to_contain_text("every list agrees with its address book")
    expect(page.get_by_role("heading", level=2)).to_have_text(["Newsletter → Newsletter"])
    expect(page.locator("form")).to_contain_text("Only the list Newsletter")
    checked(page, "reconciliation-of-a-list")
    page.get_by_role("link", name="compare every list").click()
    expect(page.get_by_role("heading", level=2)).to_have_count(2)

    answer = page.goto("accounts/acme/reconciliation?compare=1&list=Nosuch")
    assert answer is not None and answer.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "No active, email-activated marketing list 'Nosuch' of account 'acme' in Dynamics."
    )
