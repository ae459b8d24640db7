"""CrmMetadata through the whole pipeline: timer -> Azurite queue -> worker -> Dataverse sandbox."""

from __future__ import annotations

from sandbox.clock import ManualClock as ManualSandboxClock
from sandbox.dataverse.app import ATTRIBUTES_TEMPLATE, LOOKUP_ATTRIBUTES_TEMPLATE
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.crm_metadata import MAPPABLE_TYPES
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox
from tests.pipeline.helpers import run_scheduled

CRM = SyncType.CRM_METADATA


def _mappable(sandbox: DataverseSandbox, entity: str) -> set[str]:
    return {
        a.logical_name
        for a in sandbox.state.attributes[entity]
        if a.attribute_type in MAPPABLE_TYPES
    }


def test_first_run_stores_every_mappable_field(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    audit = run_scheduled(sync_runtime, host, clock, "acme", CRM)

    assert audit.status is AuditStatus.COMPLETED
    assert audit.trigger == "Scheduled"
    total_read = sum(
        len(dataverse_sandbox.state.attributes[e]) for e in ("contact", "lead", "account")
    )
    stored = sync_runtime.crm_fields.for_account("acme")
    assert audit.counts.read == total_read
    assert audit.counts.created == len(stored) > 0
    for entity in ("contact", "lead", "account"):
        assert {f.logical_name for f in stored if f.entity == entity} == _mappable(
            dataverse_sandbox, entity
        )
    email = next(f for f in stored if (f.entity, f.logical_name) == ("contact", "emailaddress1"))
    assert email.attribute_type == "String" and email.display_name
    # Per entity one attribute read and one lookup-targets read (metadata has no paging).
    assert dataverse_sandbox.state.counters.count("GET", ATTRIBUTES_TEMPLATE) == 3
    assert dataverse_sandbox.state.counters.count("GET", LOOKUP_ATTRIBUTES_TEMPLATE) == 3
    company = next(
        f for f in stored if (f.entity, f.logical_name) == ("contact", "parentcustomerid")
    )
    assert company.targets == ("account", "contact")
    record = sync_runtime.schedules.get("acme", CRM)
    assert record.status is ScheduleStatus.NONE
    assert record.last_status == "Completed"
    assert record.next_sync is not None and record.next_sync > clock.now


def test_second_run_counts_new_renamed_and_removed_fields(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    run_scheduled(sync_runtime, host, clock, "acme", CRM)
    state = dataverse_sandbox.state
    state.add_attribute("contact", "new_loyaltytier", "Picklist", "Loyalty tier")
    state.set_display_name("lead", "firstname", "Given name")
    removed = next(a for a in state.attributes["account"] if a.attribute_type == "String")
    state.attributes["account"].remove(removed)

    audit = run_scheduled(sync_runtime, host, clock, "acme", CRM)

    assert (audit.counts.created, audit.counts.updated, audit.counts.deleted) == (1, 1, 1)
    fields = {(f.entity, f.logical_name): f for f in sync_runtime.crm_fields.for_account("acme")}
    assert fields[("contact", "new_loyaltytier")].display_name == "Loyalty tier"
    assert fields[("lead", "firstname")].display_name == "Given name"
    assert ("account", removed.logical_name) not in fields


def test_dataverse_throttling_is_waited_out(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox, sandbox_clock: ManualSandboxClock,
) -> None:  # fmt: skip
    dataverse_sandbox.state.throttle_next(3, retry_after=7)

    audit = run_scheduled(sync_runtime, host, clock, "acme", CRM)

    assert audit.status is AuditStatus.COMPLETED
    assert sandbox_clock.sleeps[:3] == [7, 7, 7]


def test_dataverse_outage_fails_the_run_with_a_clear_message(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    sync_runtime.settings = sync_runtime.settings.model_copy(
        update={"run_retry_limit": 2, "run_retry_delay_seconds": 0.0}
    )
    dataverse_sandbox.state.faults.set_error_rate(503, 1.0)

    audit = run_scheduled(sync_runtime, host, clock, "acme", CRM)

    assert audit.status is AuditStatus.FAILED
    assert "Dataverse" in audit.message and "503" in audit.message
    assert audit.message.endswith("(after 3 attempts)")  # retried from its checkpoint twice
    assert [r.run_id for r in sync_runtime.audit.recent("acme")] == [audit.run_id]  # one row
    record = sync_runtime.schedules.get("acme", CRM)
    assert record.status is ScheduleStatus.NONE and record.last_status == "Failed"


def test_a_run_that_outlasts_the_http_retries_continues_from_its_checkpoint(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    sync_runtime.settings = sync_runtime.settings.model_copy(
        update={"run_retry_delay_seconds": 0.0}
    )
    state = dataverse_sandbox.state
    state.faults.fail_next(503, sync_runtime.settings.http_max_retries + 1)  # one attempt's worth

    audit = run_scheduled(sync_runtime, host, clock, "acme", CRM)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    total = sum(len(state.attributes[e]) for e in ("contact", "lead", "account"))
    assert audit.counts.read == total  # counted once, not once per attempt
    assert host.stats.messages_done == 2  # the failed attempt and the one that completed


def test_missing_dataverse_settings_are_named(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
) -> None:  # fmt: skip
    sync_runtime.settings = sync_runtime.settings.model_copy(update={"dataverse_client_id": None})

    audit = run_scheduled(sync_runtime, host, clock, "acme", CRM)

    assert audit.status is AuditStatus.FAILED
    assert "DATAVERSE_CLIENT_ID" in audit.message
