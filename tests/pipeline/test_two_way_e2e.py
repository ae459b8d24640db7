"""Two-way marketing list sync (the MarketingListsDataOut schedule) through the pipeline:
MarketingListsDataIn first, then MarketingListsDataOut, against both sandboxes.

A first two-way run pushes the list (DataOut creates the address book, the link and the
snapshot); then both sides change, and the second run must leave both holding the same data.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dotdigital.api_contacts import IMPORT
from sandbox.dotdigital.state import DataFieldRecord
from shared.accounts import EmailAccount
from shared.audit import AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.marketing_lists.links_repo import list_links
from shared.sync.marketing_lists.two_way import data_in_row_key
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_at_every_checkpoint
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled
from tests.pipeline.test_marketing_lists_in_e2e import JOBROLE, labels, mappings

TWO_WAY = SyncType.MARKETING_LISTS_DATA_OUT
DATA_IN = SyncType.MARKETING_LISTS_DATA_IN
PEOPLE = (("Ada", "Lovelace", "ada@example.com"), ("Alan", "Turing", "alan@example.com"))


class TwoWay:
    def __init__(
        self, rt: Runtime, host: LocalHost, clock: ManualClock, sandbox_clock: SandboxClock,
        dataverse: DataverseSandbox, dotdigital: DotdigitalSandbox,
    ) -> None:  # fmt: skip
        self.rt, self.host, self.clock, self.sandbox_clock = rt, host, clock, sandbox_clock
        self.dv, self.dd = dataverse.state, dotdigital.state
        self.ids: dict[str, str] = {}
        clock.now = datetime.fromtimestamp(sandbox_clock.now(), UTC) + timedelta(minutes=2)
        for label in labels():
            rt.data_labels.save("acme", label)
        self.dd.data_fields.append(DataFieldRecord(JOBROLE, "String"))
        for mapping in mappings():
            rt.mappings.create("acme", mapping)
        self.list_id = self.dv.insert(
            "list",
            {
                "listname": "Newsletter",
                "createdfromcode": 2,
                "dms_emailaccountid": "acme",
                "dms_emailactivated": True,
            },
        )
        for first, last, email in PEOPLE:
            self.ids[email] = self.dv.insert(
                "contact", {"firstname": first, "lastname": last, "emailaddress1": email}
            )
            self.dv.add_list_member(self.list_id, self.ids[email])

    def run(self) -> AuditRecord:
        """One scheduled run, with the sandboxes' time moved to the run's time first."""
        if self.rt.schedules.get("acme", TWO_WAY).spec != EVERY_5:
            admin.set_schedule(self.rt, "acme", TWO_WAY, EVERY_5)
        due = self.rt.schedules.get("acme", TWO_WAY).next_sync
        assert due is not None
        self.sandbox_clock.advance(max(due.timestamp() - self.sandbox_clock.now(), 0))
        return run_scheduled(self.rt, self.host, self.clock, "acme", TWO_WAY)

    def run_in_slices(self) -> AuditRecord:
        """The run, continued in a follow-up message after every checkpoint."""
        with pause_at_every_checkpoint():
            record = self.rt.schedules.get("acme", TWO_WAY)
            assert record.next_sync is not None
            self.sandbox_clock.advance(
                max(record.next_sync.timestamp() - self.sandbox_clock.now(), 0)
            )
            self.clock.now = record.next_sync
            self.host.fire_timer("scheduler_tick")
            deadline = time.monotonic() + 40
            while self.rt.schedules.get("acme", TWO_WAY).status is not ScheduleStatus.NONE:
                assert time.monotonic() < deadline, "the run never finished"
                if not self.host.process_once():
                    time.sleep(0.2)
        return self.runs()[0]

    def crm(self, email: str) -> dict[str, Any]:
        row = self.dv.row("contact", self.ids[email])
        assert row is not None
        return row

    def platform(self, email: str) -> dict[str, Any]:
        with self.dd.lock:
            contact = self.dd.store.by_email(email)
            assert contact is not None
            return dict(contact.data)

    def change_platform(self, email: str, updated: float, **data: Any) -> None:
        with self.dd.lock:
            contact = self.dd.store.by_email(email)
            assert contact is not None
            contact.data.update(data)
            contact.updated = updated

    def runs(self) -> list[AuditRecord]:
        """Audit rows of the last run, newest first."""
        rows = self.rt.audit.recent("acme")
        return [row for row in rows if row.run_id == rows[0].run_id]


@pytest.fixture
def two_way(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    sandbox_clock: SandboxClock, dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> TwoWay:  # fmt: skip
    return TwoWay(sync_runtime, host, clock, sandbox_clock, dataverse_sandbox, dotdigital_sandbox)


@pytest.mark.parametrize("newer", ["platform", "dynamics"])
def test_when_both_sides_changed_a_contact_the_newer_value_ends_on_both_sides(
    newer: str, two_way: TwoWay
) -> None:
    first = two_way.run()  # DataIn finds nothing to bring in; DataOut pushes the list
    assert first.status is AuditStatus.COMPLETED, first.message
    assert two_way.platform("ada@example.com")["LASTNAME"] == "Lovelace"

    pushed = two_way.sandbox_clock.now()
    two_way.sandbox_clock.advance(10)
    two_way.dv.update("contact", two_way.ids["ada@example.com"], {"lastname": "Byron"})
    two_way.change_platform(
        "ada@example.com", pushed + (20 if newer == "platform" else 5), LASTNAME="King"
    )
    # Alan: each side changed a different field; both changes must survive.
    two_way.dv.update("contact", two_way.ids["alan@example.com"], {"firstname": "Alan M."})
    two_way.change_platform("alan@example.com", pushed + 5, LASTNAME="Turing-Smith")

    second = two_way.run()

    winner = "King" if newer == "platform" else "Byron"
    assert two_way.crm("ada@example.com")["lastname"] == winner
    assert two_way.platform("ada@example.com")["LASTNAME"] == winner
    assert two_way.platform("ada@example.com")["FULLNAME"] == f"Ada {winner}"
    alan_crm, alan_platform = two_way.crm("alan@example.com"), two_way.platform("alan@example.com")
    assert (alan_crm["firstname"], alan_crm["lastname"]) == ("Alan M.", "Turing-Smith")
    assert (alan_platform["FIRSTNAME"], alan_platform["LASTNAME"]) == ("Alan M.", "Turing-Smith")

    out_row, in_row = two_way.runs()  # newest first: DataIn ran before DataOut
    assert (in_row.sync_type, out_row.sync_type) == (DATA_IN, TWO_WAY)
    assert out_row.row_key == second.row_key and in_row.row_key == data_in_row_key(second.row_key)
    assert in_row.trigger == out_row.trigger == "Scheduled"
    assert in_row.status is AuditStatus.COMPLETED, in_row.message
    assert second.status is AuditStatus.COMPLETED, second.message
    assert in_row.finished is not None and out_row.finished is not None
    assert in_row.finished <= out_row.finished
    assert in_row.counts.updated == (2 if newer == "platform" else 1)
    [detail] = two_way.rt.audit.details("acme", in_row.row_key)
    assert detail.item == "Newsletter"


def test_no_phase_starts_and_no_api_is_called_when_the_last_data_labels_sync_failed(
    two_way: TwoWay,
) -> None:
    labels_schedule = two_way.rt.schedules.get("acme", SyncType.DATA_LABELS)
    labels_schedule.last_status = AuditStatus.FAILED.value
    two_way.rt.schedules.save(labels_schedule)
    calls = (two_way.dv.counters.count(), two_way.dd.counters.count())

    audit = two_way.run()

    assert audit.status is AuditStatus.FAILED
    assert audit.message == Messages.DATA_LABELS_FAILED
    assert (two_way.dv.counters.count(), two_way.dd.counters.count()) == calls
    assert [row.sync_type for row in two_way.runs()] == [TWO_WAY]  # no DataIn row either
    assert list_links(two_way.rt).for_account("acme") == []


def test_a_run_continued_across_slices_resumes_each_phase_where_it_stopped(
    two_way: TwoWay,
) -> None:
    two_way.run()
    pushed = two_way.sandbox_clock.now()
    two_way.sandbox_clock.advance(10)
    two_way.dv.update("contact", two_way.ids["ada@example.com"], {"firstname": "Augusta"})
    two_way.change_platform("ada@example.com", pushed + 5, LASTNAME="King")

    before = two_way.host.stats.messages_done

    second = two_way.run_in_slices()

    assert two_way.host.stats.messages_done - before >= 2  # DataIn paused mid-phase at least
    out_row, in_row = two_way.runs()
    assert second == out_row and in_row.sync_type == DATA_IN
    assert in_row.status is AuditStatus.COMPLETED and out_row.status is AuditStatus.COMPLETED
    assert (in_row.counts.read, in_row.counts.updated) == (2, 1)  # counted once
    assert out_row.counts.updated == 1  # Ada pushed once
    assert (two_way.crm("ada@example.com")["firstname"], two_way.crm("ada@example.com")[
        "lastname"
    ]) == ("Augusta", "King")  # fmt: skip
    platform = two_way.platform("ada@example.com")
    assert (platform["FIRSTNAME"], platform["LASTNAME"]) == ("Augusta", "King")


def test_when_data_in_fails_data_out_does_not_overwrite_the_platform_changes(
    two_way: TwoWay,
) -> None:
    two_way.run()
    pushed = two_way.sandbox_clock.now()
    two_way.sandbox_clock.advance(10)
    two_way.dv.update("contact", two_way.ids["ada@example.com"], {"firstname": "Augusta"})
    two_way.change_platform("ada@example.com", pushed + 5, LASTNAME="King")
    two_way.dd.faults.fail_next(503, 10)  # Dotdigital down for longer than the retries last
    imports = two_way.dd.counters.count("PUT", IMPORT)

    failed = two_way.run()

    out_row, in_row = two_way.runs()
    assert in_row.status is AuditStatus.FAILED and in_row.sync_type == DATA_IN
    assert out_row == failed and failed.status is AuditStatus.FAILED
    assert failed.message.startswith("Marketing list sync didn't push as MarketingListsDataIn")
    assert two_way.dd.counters.count("PUT", IMPORT) == imports  # DataOut never ran
    assert two_way.platform("ada@example.com")["LASTNAME"] == "King"

    two_way.dd.faults.reset()
    recovered = two_way.run()  # the watermark did not move: King is brought in, then pushed

    assert recovered.status is AuditStatus.COMPLETED, recovered.message
    assert (two_way.crm("ada@example.com")["firstname"], two_way.crm("ada@example.com")[
        "lastname"
    ]) == ("Augusta", "King")  # fmt: skip
    assert two_way.platform("ada@example.com")["FIRSTNAME"] == "Augusta"
    assert two_way.platform("ada@example.com")["LASTNAME"] == "King"


def _dry_run(two_way: TwoWay) -> list[AuditRecord]:
    """Sync Now --dry-run, the queue drained; the run's audit rows, newest first."""
    two_way.clock.advance(minutes=1)  # audit rows are ordered by start time
    result = admin.sync_now(two_way.rt, "acme", TWO_WAY, dry_run=True)
    assert result.accepted, result.message
    two_way.host.drain()
    return two_way.runs()


def test_a_dry_run_reads_and_decides_but_writes_nothing_on_either_side(two_way: TwoWay) -> None:
    two_way.run()
    pushed = two_way.sandbox_clock.now()
    two_way.sandbox_clock.advance(10)
    two_way.dv.update("contact", two_way.ids["ada@example.com"], {"firstname": "Augusta"})
    two_way.change_platform("ada@example.com", pushed + 5, LASTNAME="King")
    watermark = two_way.rt.state.get_value("acme", "MarketingListsDataIn-Watermark")
    status_before = two_way.rt.schedules.get("acme", TWO_WAY).last_status
    imports = two_way.dd.counters.count("PUT", IMPORT)

    out_row, in_row = _dry_run(two_way)

    # Nothing changed on either side, nor in the connector's state.
    assert two_way.crm("ada@example.com")["lastname"] == "Lovelace"
    assert two_way.platform("ada@example.com")["FIRSTNAME"] == "Ada"
    assert two_way.dd.counters.count("PUT", IMPORT) == imports
    assert two_way.rt.state.get_value("acme", "MarketingListsDataIn-Watermark") == watermark
    schedule = two_way.rt.schedules.get("acme", TWO_WAY)
    assert schedule.last_status == status_before  # a dry run is not the type's last sync
    # ... and the audit says what would have been written, on each side.
    assert out_row.trigger == "Dry run" and in_row.trigger == "Dry run"
    assert out_row.message.startswith("Dry run, nothing written"), out_row.message
    assert in_row.message.startswith("Dry run, nothing written"), in_row.message
    assert (in_row.counts.updated, out_row.counts.updated) == (1, 1)
    would = {d.item: d for d in two_way.rt.audit.details("acme", out_row.row_key)}
    imported = would["Would import contacts (Dotdigital)"]
    assert imported.counts.read == 1 and "ada@example.com" in imported.message
    assert "Would PATCH contacts (Dynamics)" in would

    real = two_way.run()  # the same changes, for real this time

    assert real.status is AuditStatus.COMPLETED, real.message
    assert two_way.crm("ada@example.com")["lastname"] == "King"
    assert two_way.platform("ada@example.com")["FIRSTNAME"] == "Augusta"
