"""EventEgress through the pipeline (timer -> Azurite queue -> worker) against the ACS sandbox's
I/O Events journal and the Dataverse sandbox: Campaign's email events become activities on the
contact's timeline with their fields, follow-up tasks on clicks and hard bounces, each
switchable; events without a contact are skipped by id; a redelivered message, a replayed
journal, a killed worker, throttling and lost answers leave what an undisturbed run leaves."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sandbox.adobe import AdobeState, EventMix
from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.service import adobe_config
from shared.sync.adobe.egress.rows import activity_id, task_id
from shared.sync.adobe.egress.sync_type import POSITION_KEY, EventEgress
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

EGRESS = SyncType.EVENT_EGRESS
ACTIVITIES = ("dms_acsemailsend", "dms_acsemailopen", "dms_acsemailclick", "dms_acsemailbounce")


def _journal(rt: Runtime, account_id: str, acs: AdobeState) -> None:
    change = adobe_config.EgressChange(journal_url=acs.journal_url(), ims_org_id=acs.ims_org_id)
    adobe_config.set_egress(rt, account_id, change)


@pytest.fixture
def globex_egress(sync_runtime: Runtime, globex: EmailAccount, acs: AdobeState) -> EmailAccount:
    """Globex with its I/O Events journal set."""
    _journal(sync_runtime, "globex", acs)
    return globex


def _people(dv: DataverseState, acs: AdobeState, count: int = 3) -> list[str]:
    """Contacts in Dynamics with their profiles in Campaign (externalId = contactid)."""
    ids = []
    for n in range(count):
        email = f"reader{n}@example.com"
        contact = dv.insert("contact", {"emailaddress1": email, "lastname": f"Reader {n}"})
        acs.insert("profile", {"email": email, "externalId": contact})
        ids.append(contact)
    return ids


def _rows(dv: DataverseState, table: str) -> list[dict[str, Any]]:
    rows = [dv.row(table, row_id) for row_id in dv.table(table).rows]
    return [r for r in rows if r is not None]


def _sizes(dv: DataverseState) -> dict[str, int]:
    return {t: len(dv.table(t).rows) for t in (*ACTIVITIES, "task")}


def _details(rt: Runtime, audit: AuditRecord, account: str = "globex") -> dict[str, AuditDetail]:
    return {d.item.removeprefix("Campaign event "): d
            for d in rt.audit.details(account, audit.row_key)}  # fmt: skip


def test_each_event_becomes_its_activity_on_the_contact_with_tasks_and_unknown_people_skipped(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    ann, bob, _cy = _people(dv, acs)
    common = {"campaign_id": "2019LoyaltyCamp", "delivery_id": "DM190"}
    send = acs.add_email_event("send", ann, email="reader0@example.com", **common)
    opened = acs.add_email_event("open", ann, email="reader0@example.com", **common)
    click = acs.add_email_event("click", ann, email="reader0@example.com",
                                url="https://shop.example.com/loyalty", **common)  # fmt: skip
    bounce = acs.add_email_event("bounce", bob, email="reader1@example.com", **common)
    acs.add_email_event("bounce", bob, bounce_type="soft", **common)  # never shown
    nobody = acs.add_email_event("open", "", **common)  # a profile without externalId
    gone = acs.add_email_event("open", "6f1c2a43-0000-4000-8000-00000000dead", **common)

    audit = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.message == (
        "7 Campaign events read: 4 activities created (1 sends, 1 opens, 1 clicks, 1 bounces), "
        "2 follow-up tasks; 2 events skipped (no contact in Dynamics); not shown: 1 soft bounces"
    )
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (7, 6, 0)
    row = dv.row("dms_acsemailclick", activity_id("globex", click["id"]))
    assert row is not None
    assert row["subject"] == "2019LoyaltyCamp DM190"
    assert (row["dms_campaignname"], row["dms_deliveryname"]) == ("2019LoyaltyCamp", "DM190")
    assert row["dms_trackingurl"] == "https://shop.example.com/loyalty"
    assert row["dms_mirrorpageurl"] == click["data"]["mirrorPage"]["href"]
    assert row["dms_clickedon"].startswith(click["time"][:19])
    assert row["_regardingobjectid_value"] == ann and row["dms_eventid"] == click["id"]
    assert row["dms_emailaccountid"] == "globex"
    for table, event, column in (("dms_acsemailsend", send, "dms_senton"),
                                 ("dms_acsemailopen", opened, "dms_openedon"),
                                 ("dms_acsemailbounce", bounce, "dms_bouncedon")):  # fmt: skip
        found = dv.row(table, activity_id("globex", event["id"]))
        assert found is not None and found[column].startswith(event["time"][:19]), table
    follow_up = dv.row("task", task_id("globex", click["id"]))
    assert follow_up is not None and follow_up["_regardingobjectid_value"] == ann
    assert follow_up["subject"] == (
        "Follow up: reader0@example.com clicked https://shop.example.com/loyalty"
    )
    assert follow_up["scheduledend"][:10] > click["time"][:10]  # due a day after the click
    reconcile = dv.row("task", task_id("globex", bounce["id"]))
    assert reconcile is not None and reconcile["_regardingobjectid_value"] == bob
    assert reconcile["subject"] == "Reconcile the invalid email address reader1@example.com"
    assert _sizes(dv) == {"dms_acsemailsend": 1, "dms_acsemailopen": 1, "dms_acsemailclick": 1,
                          "dms_acsemailbounce": 1, "task": 2}  # fmt: skip
    details = _details(sync_runtime, audit)
    assert set(details) == {nobody["id"], gone["id"]}
    assert "no externalId" in details[nobody["id"]].message
    assert "is not in Dynamics" in details[gone["id"]].message

    clock.advance(minutes=5)
    quiet = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)
    assert quiet.status is AuditStatus.COMPLETED and quiet.message == Messages.NO_NEW_OBJECTS


def test_switched_off_events_and_tasks_write_nothing(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    [ann] = _people(dv, acs, 1)
    change = adobe_config.EgressChange(send=False, open=False, click_task=False, bounce_task=False)
    adobe_config.set_egress(sync_runtime, "globex", change)
    for kind in ("send", "open", "click", "bounce"):
        acs.add_email_event(kind, ann, url="https://shop.example.com/x")

    audit = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert _sizes(dv) == {"dms_acsemailsend": 0, "dms_acsemailopen": 0, "dms_acsemailclick": 1,
                          "dms_acsemailbounce": 1, "task": 0}  # fmt: skip
    assert audit.message.endswith("not shown: 2 of kinds switched off")


def test_an_account_without_its_journal_is_refused_with_the_command_that_sets_it(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
) -> None:  # fmt: skip
    audit = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)
    assert audit.status is AuditStatus.FAILED
    assert "adobe egress set globex --journal-url" in audit.message


def test_a_redelivered_message_and_a_replayed_journal_change_nothing(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _people(dv, acs, 4)
    acs.generate_email_events(40, seed=3)
    admin.set_schedule(sync_runtime, "globex", EGRESS, EVERY_5)
    assert admin.sync_now(sync_runtime, "globex", EGRESS).accepted
    [message] = take_queued(sync_runtime)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT
    sizes = _sizes(dv)
    before = {t: sorted(map(repr, _rows(dv, t))) for t in (*ACTIVITIES, "task")}
    first = sync_runtime.audit.recent("globex", sync_type=EGRESS, limit=1)[0]
    activities = first.counts.created - sizes["task"]

    # The saved journal position lost (restored state): every event is read again, no row
    # is written twice or changed.
    sync_runtime.state.set_value("globex", POSITION_KEY, "", clock.now)
    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert f"{activities} activities there already" in again.message
    assert again.counts.created == 0
    assert {t: sorted(map(repr, _rows(dv, t))) for t in (*ACTIVITIES, "task")} == before


def test_at_most_max_events_a_run_and_the_rest_the_next_run(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(EventEgress(page_size=5, max_events=10))
    _people(dv, acs, 3)
    acs.generate_email_events(25, seed=1, mix=EventMix(bounce_rate=0.0))
    reads = []
    for _ in range(3):
        audit = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)
        assert audit.status is AuditStatus.COMPLETED, audit.message
        reads.append(audit.counts.read)
        clock.advance(minutes=5)
    assert reads == [10, 10, 5]
    capped = sync_runtime.audit.recent("globex", sync_type=EGRESS)[2]  # the first, newest last
    assert capped.message.endswith("at most 10 events a run: later events wait for the next run")
    assert sum(_sizes(dv)[t] for t in ACTIVITIES) == 25


def test_a_position_past_the_journals_seven_days_reads_on_from_the_oldest_event_kept(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, sandbox_clock: SandboxClock,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(EventEgress(page_size=2, max_events=100))
    [ann] = _people(dv, acs, 1)
    acs.add_email_event("send", ann)
    acs.add_email_event("open", ann)
    assert run_scheduled(sync_runtime, host, clock, "globex", EGRESS).counts.read == 2
    acs.add_email_event("click", ann)  # never read: it expires with the position
    sandbox_clock.advance(8 * 24 * 3600)
    kept = acs.add_email_event("open", ann)

    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    assert "the saved journal position had expired" in audit.message
    assert dv.row("dms_acsemailopen", activity_id("globex", kept["id"])) is not None
    assert _sizes(dv)["dms_acsemailclick"] == 0


def _end_state(rt: Runtime, dv: DataverseState, audit: AuditRecord, account: str) -> Any:
    """What a run left: its audit and the account's activities, without ids and account."""
    skip = {"dms_emailaccountid", "createdon", "modifiedon", "versionnumber"}
    rows = {
        table: sorted(
            repr(sorted((k, v) for k, v in r.items()
                        if k not in skip and not k.endswith("id") and "@" not in k))
            for r in _rows(dv, table) if r["dms_emailaccountid"] == account
        )
        for table in ACTIVITIES
    }  # fmt: skip
    details = sorted((d.item, d.status, d.message, d.counts.model_dump())
                     for d in rt.audit.details(account, audit.row_key))  # fmt: skip
    return audit.status, audit.message, audit.counts, details, rows


def _world(rt: Runtime, dv: DataverseState, acs: AdobeState) -> None:
    rt.registry = catalogue().replaced(EventEgress(page_size=7, max_events=70))
    _people(dv, acs, 5)
    acs.insert("profile", {"email": "stranger@example.com"})  # no externalId
    acs.generate_email_events(60, seed=11)


def _twin(rt: Runtime, globex: EmailAccount, acs: AdobeState) -> AuditRecord:
    """The same events egressed by a second account, undisturbed: the baseline."""
    twin = globex.model_copy(update={"account_id": "globex2"})
    rt.accounts.save(twin)
    _journal(rt, "globex2", acs)
    return run_scheduled(rt, LocalHostless.host, LocalHostless.clock, "globex2", EGRESS)


class LocalHostless:  # set per test: the twin's run shares the test's host and clock
    host: LocalHost
    clock: ManualClock


# An undisturbed run of `_world` saves 19 checkpoints (its start, then two per journal batch
# of 7: the batch in flight, then its end); the worker dies at a seeded sample of them.
KILL_POINTS = sorted(random.Random(14).sample(range(2, 20), 6))


@pytest.mark.parametrize("die_at", KILL_POINTS)
def test_a_run_killed_at_a_checkpoint_and_redelivered_ends_like_an_uninterrupted_one(
    die_at: int, sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost,
    clock: ManualClock, dv: DataverseState, acs: AdobeState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _world(sync_runtime, dv, acs)
    LocalHostless.host, LocalHostless.clock = host, clock
    baseline = _twin(sync_runtime, globex_egress, acs)
    assert baseline.status is AuditStatus.COMPLETED, baseline.message
    tasks = _sizes(dv)["task"]

    saves: list[int] = []
    die_at_save(monkeypatch, sync_runtime, die_at, on_save=saves.append)
    assert run_until_killed(sync_runtime, host, clock, "globex", EGRESS), "the worker never died"
    audit = finish_after_lease(sync_runtime, host, clock, "globex", EGRESS)

    assert _end_state(sync_runtime, dv, audit, "globex") == _end_state(
        sync_runtime, dv, baseline, "globex2")  # fmt: skip
    assert _sizes(dv)["task"] == 2 * tasks
    assert len(saves) > die_at, len(saves)  # the death was mid-run: checkpoints came after it


def test_throttling_server_errors_and_lost_answers_end_as_a_quiet_run_would(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _world(sync_runtime, dv, acs)
    LocalHostless.host, LocalHostless.clock = host, clock
    baseline = _twin(sync_runtime, globex_egress, acs)

    acs.faults.set_throttle(0.5)
    acs.faults.fail_next(502, 2)
    acs.faults.lose_response_next(2)
    for _ in range(3):  # Dataverse answers lost after the work was done
        dv.faults.slow_next(0.0, count=2)
        dv.faults.lose_response_next()
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", EGRESS)

    assert acs.faults.injected["429"] >= 1 and acs.faults.injected["lose"] == 2
    assert dv.faults.injected["lose"] == 3
    assert _end_state(sync_runtime, dv, audit, "globex") == _end_state(
        sync_runtime, dv, baseline, "globex2")  # fmt: skip


def test_a_dry_run_names_what_it_would_write_and_writes_nothing(
    sync_runtime: Runtime, globex_egress: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    _people(dv, acs, 2)
    acs.generate_email_events(20, seed=5, mix=EventMix(bounce_rate=0.0))
    admin.set_schedule(sync_runtime, "globex", EGRESS, EVERY_5)
    assert admin.sync_now(sync_runtime, "globex", EGRESS, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("globex", sync_type=EGRESS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert set(_sizes(dv).values()) == {0}
    assert sync_runtime.state.get_value("globex", POSITION_KEY) is None
    assert "20 Campaign events read" in audit.message
