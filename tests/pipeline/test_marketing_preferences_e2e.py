"""MarketingPreferences through the pipeline (timer -> Azurite queue -> worker) against both
sandboxes: an account's preferences and categories, and the opt-ins of every record ever in
one of its email-activated marketing lists, kept in step both ways."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_preferences import CONTACT_SUBSCRIPTIONS, SET_CONTACT_PREFERENCES
from sandbox.dotdigital.programs import PreferenceRecord
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.audit import AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.scheduling import ScheduleSpec
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.history_repo import membership_history
from shared.sync.preferences.sync import MarketingPreferences
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import latest, run_scheduled

PREFS = SyncType.MARKETING_PREFERENCES
SUBSCRIPTION = "dms_marketingpreferencesubscription"
PREFERENCE = "dms_marketingpreference"


@dataclass
class World:
    rt: Runtime
    host: LocalHost
    clock: ManualClock
    sandbox_clock: SandboxClock
    dv: DataverseState
    dd: DotdigitalState
    football: PreferenceRecord
    tennis: PreferenceRecord
    newsletter: PreferenceRecord
    records: dict[str, tuple[str, str]]  # name -> (entity, id)

    def run(self) -> AuditRecord:
        """A scheduled run; afterwards both sandboxes' clocks are past its start."""
        sandbox_now = datetime.fromtimestamp(self.sandbox_clock.now(), UTC)
        self.clock.now = max(self.clock.now, sandbox_now)
        audit = run_scheduled(self.rt, self.host, self.clock, "acme", PREFS)
        self.tick()
        return audit

    def tick(self, seconds: float = 60) -> None:
        """Move both clocks on, the sandboxes' past the runtime's."""
        runtime_now = self.clock.now.timestamp()
        self.sandbox_clock.advance(max(runtime_now - self.sandbox_clock.now(), 0) + seconds)
        self.clock.now = datetime.fromtimestamp(self.sandbox_clock.now(), UTC)

    def rows(self, account: str = "acme") -> dict[tuple[str, str, str], dict[str, Any]]:
        """Subscription rows: (entity, record id, preference name) -> row."""
        names = {
            row["dms_marketingpreferenceid"]: row["dms_name"]
            for row in (self.dv.row(PREFERENCE, i) for i in self.dv.table(PREFERENCE).rows)
            if row is not None
        }
        found = {}
        for row_id in self.dv.table(SUBSCRIPTION).rows:
            row = self.dv.row(SUBSCRIPTION, row_id)
            assert row is not None
            if row["dms_emailaccountid"] != account:
                continue
            entity = next(e for e in ("contact", "lead", "account") if row[f"_dms_{e}id_value"])
            record = row[f"_dms_{entity}id_value"]
            found[(entity, record, names[row["_dms_marketingpreferenceid_value"]])] = row
        return found

    def row(self, name: str, preference: str) -> dict[str, Any]:
        entity, record = self.records[name]
        return self.rows()[(entity, record, preference)]

    def edit(self, name: str, preference: str, opted_in: bool) -> None:
        """A CRM user changes the subscription's status on the record's form."""
        row = self.row(name, preference)
        self.dv.update(SUBSCRIPTION, row["dms_marketingpreferencesubscriptionid"],
                       {"dms_optedin": opted_in})  # fmt: skip

    def platform(self, email: str) -> set[int]:
        contact = self.dd.store.by_email(email)
        assert contact is not None
        return set(contact.preferences)

    def opt(self, email: str, preference: PreferenceRecord, opted_in: bool) -> None:
        """The contact changes a preference on the platform (a preference centre)."""
        contact = self.dd.store.by_email(email)
        assert contact is not None
        self.dd.preference_optins.change(contact, preference.id, opted_in, self.dd.now())


def _person(dv: DataverseState, table: str, email: str, **values: Any) -> str:
    name = "name" if table == "account" else "lastname"
    return dv.insert(table, {"emailaddress1": email, name: email.split("@")[0], **values})


@pytest.fixture
def world(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    sandbox_clock: SandboxClock, dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> World:  # fmt: skip
    dv, dd = dataverse_sandbox.state, dotdigital_sandbox.state
    sports = dd.add_preference_category("Sports")
    football = dd.add_preference("Football", category=sports)
    tennis = dd.add_preference("Tennis", category=sports)
    newsletter = dd.add_preference("Newsletter", is_public=False)
    newsletter.private_name = "newsletter-internal"
    for email in ("ada@example.com", "bob@example.com", "cy@example.com", "acme@example.com"):
        dd.store.add_contact(email, when=dd.now())
    records = {
        "ada": ("contact", _person(dv, "contact", "ada@example.com")),
        "ada-lead": ("lead", _person(dv, "lead", "ADA@example.com")),  # the same email
        "bob": ("contact", _person(dv, "contact", "bob@example.com")),
        "cy": ("contact", _person(dv, "contact", "cy@example.com")),
        "acme": ("account", _person(dv, "account", "acme@example.com")),
    }
    _person(dv, "contact", "never-listed@example.com")
    history = membership_history(sync_runtime)
    for entity in ("contact", "lead", "account"):
        history.add("acme", entity, [i for e, i in records.values() if e == entity])
    w = World(sync_runtime, host, clock, sandbox_clock, dv, dd, football, tennis, newsletter,
              records)  # fmt: skip
    w.opt("ada@example.com", football, True)
    w.opt("bob@example.com", tennis, True)
    w.tick()
    return w


def test_first_run_creates_the_preferences_and_a_row_per_listed_record_and_preference(
    world: World,
) -> None:
    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    preferences = {
        row["dms_name"]: row
        for row in (world.dv.row(PREFERENCE, i) for i in world.dv.table(PREFERENCE).rows)
        if row is not None
    }
    assert set(preferences) == {"Sports", "Football", "Tennis", "Newsletter"}
    assert preferences["Sports"]["dms_iscategory"] is True
    assert preferences["Football"]["dms_category"] == "Sports"
    assert preferences["Newsletter"]["dms_privatename"] == "newsletter-internal"
    assert preferences["Newsletter"]["dms_ispublic"] is False
    rows = world.rows()
    assert len(rows) == 5 * 3  # five records ever listed x three preferences; no categories
    opted = {key for key, row in rows.items() if row["dms_optedin"]}
    ada, lead, bob = world.records["ada"], world.records["ada-lead"], world.records["bob"]
    assert opted == {(*ada, "Football"), (*lead, "Football"), (*bob, "Tennis")}
    assert all(row["dms_syncedoptedin"] == row["dms_optedin"] for row in rows.values())
    assert rows[(*ada, "Football")]["dms_lastmodified"] is not None
    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (5, 4 + 15, 0)

    again = world.run()
    assert (again.status, again.message) == (AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    assert len(world.rows()) == 15


def test_each_side_changed_later_wins_and_reaches_the_other(world: World) -> None:
    world.run()
    world.edit("bob", "Football", True)  # a CRM user opts Bob in
    world.opt("cy@example.com", world.newsletter, True)  # Cy opts in on the platform
    world.tick()
    # Ada: a CRM user opts her out of Football; later she opts out and in again on the
    # platform: the platform's change is the later one.
    world.edit("ada", "Football", False)
    world.tick()
    world.opt("ada@example.com", world.football, False)
    world.tick(1)
    world.opt("ada@example.com", world.football, True)
    world.tick()

    audit = world.run()

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert world.football.id in world.platform("bob@example.com")
    assert world.row("bob", "Football")["dms_syncedoptedin"] is True
    assert world.row("cy", "Newsletter")["dms_optedin"] is True
    assert world.row("ada", "Football")["dms_optedin"] is True  # the platform's later change
    assert world.row("ada-lead", "Football")["dms_optedin"] is True
    assert world.football.id in world.platform("ada@example.com")
    assert audit.counts.updated >= 3

    # The connector's own writes are not edits: the next run has nothing to do.
    assert world.run().message == Messages.NO_NEW_OBJECTS


def test_a_crm_edit_later_than_the_platform_change_wins(world: World) -> None:
    world.run()
    # Bob opts out of Tennis and in again on the platform; later a CRM user opts him out.
    world.opt("bob@example.com", world.tennis, False)
    world.tick(1)
    world.opt("bob@example.com", world.tennis, True)
    world.tick()
    world.edit("bob", "Tennis", False)
    world.tick()

    world.run()

    assert world.tennis.id not in world.platform("bob@example.com")
    assert world.row("bob", "Tennis")["dms_syncedoptedin"] is False


def test_suppressed_contacts_are_neither_read_nor_written(world: World) -> None:
    world.run()
    cy = world.dd.store.by_email("cy@example.com")
    assert cy is not None
    cy.status = "Unsubscribed"
    world.edit("cy", "Football", True)
    dee = _person(world.dv, "contact", "dee@example.com")  # newly listed, and hard bounced
    world.dd.store.add_contact("dee@example.com", when=world.dd.now(), status="HardBounced")
    membership_history(world.rt).add("acme", "contact", [dee])
    world.tick()
    set_before = world.dd.counters.count("PUT", SET_CONTACT_PREFERENCES)

    audit = world.run()

    assert world.football.id not in world.platform("cy@example.com")
    assert world.row("cy", "Football")["dms_syncedoptedin"] is False  # left as it was
    assert world.dd.counters.count("PUT", SET_CONTACT_PREFERENCES) == set_before
    assert not any(record == dee for _, record, _ in world.rows())  # no rows for Dee
    assert audit.message == Messages.NO_NEW_OBJECTS
    details = {d.item: d for d in world.rt.audit.details("acme", audit.row_key)}
    assert "2 suppressed contacts ignored" in details["Skipped"].message


def test_a_dry_run_writes_nothing_on_either_side(world: World) -> None:
    world.run()
    world.edit("bob", "Football", True)
    world.opt("cy@example.com", world.newsletter, True)
    world.tick()
    before = world.rows()

    assert admin.sync_now(world.rt, "acme", PREFS, dry_run=True).accepted
    world.host.drain()

    audit = latest(world.rt, "acme", PREFS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert world.rows() == before
    assert world.football.id not in world.platform("bob@example.com")
    would = {d.item for d in world.rt.audit.details("acme", audit.row_key)}
    assert "Would set contact preferences (Dotdigital)" in would


def test_preferences_never_cascade_across_email_accounts(
    world: World, sandboxes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    globex = EmailAccount(
        account_id="globex", name="Globex", api_user=sandboxes.credentials.api_user,
        api_password_secret_name="ACME_DOTDIGITAL_PASSWORD",
    )  # fmt: skip
    world.rt.accounts.save(globex)
    world.run()
    # Globex has its own rows for the same record (another account's preference sync).
    entity, bob = world.records["bob"]
    membership_history(world.rt).add("globex", entity, [bob])
    globex_audit = run_scheduled(world.rt, world.host, world.clock, "globex", PREFS)
    admin.set_schedule(world.rt, "globex", PREFS, ScheduleSpec())  # back to Manual Sync Only
    assert globex_audit.status is AuditStatus.COMPLETED, globex_audit.message
    globex_rows = world.rows("globex")
    assert len(globex_rows) == 3 and len(world.rows()) == 15
    row = globex_rows[(entity, bob, "Newsletter")]
    world.dv.update(SUBSCRIPTION, row["dms_marketingpreferencesubscriptionid"],
                    {"dms_optedin": True})  # fmt: skip
    world.tick()

    audit = world.run()  # acme's run: globex's edit is not acme's

    assert audit.message == Messages.NO_NEW_OBJECTS
    assert world.newsletter.id not in world.platform("bob@example.com")
    assert world.row("bob", "Newsletter")["dms_optedin"] is False
    assert world.rows("globex")[(entity, bob, "Newsletter")]["dms_syncedoptedin"] is False


def _small_slices(world: World, monkeypatch: pytest.MonkeyPatch, **sizes: int) -> None:
    """Units of a few rows, a time budget that pauses after each, follow-up messages and
    redeliveries that come back at once."""
    world.rt.registry = catalogue().replaced(MarketingPreferences(**sizes))
    world.rt.settings = world.rt.settings.model_copy(update={"continuation_delay_seconds": 0.0})
    world.host = build_host(world.rt, visibility=timedelta(seconds=1), max_deliveries=3)
    pause_every_slice_at_its_first_checkpoint(monkeypatch)


def _run_to_the_end(world: World) -> int:
    """Work the queue until the schedule is idle again; how many times the worker died."""
    kills = 0
    deadline = time.monotonic() + 60
    while world.rt.schedules.get("acme", PREFS).status is not ScheduleStatus.NONE:
        assert time.monotonic() < deadline, "the run never finished"
        try:
            handled = world.host.process_once()
        except _Killed:
            kills += 1
            world.clock.advance(seconds=world.rt.settings.run_lease_seconds + 5)  # lease ends
            continue
        if not handled:
            time.sleep(0.2)  # a continuation or a redelivery becomes visible shortly
    return kills


def test_a_run_in_many_slices_ends_as_one_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.run()
    world.edit("bob", "Football", True)
    world.edit("cy", "Newsletter", True)
    world.opt("ada@example.com", world.tennis, True)
    world.tick()
    _small_slices(world, monkeypatch, rows_per_batch=1, contacts_per_unit=1)
    admin.sync_now(world.rt, "acme", PREFS)

    assert _run_to_the_end(world) == 0

    audit = latest(world.rt, "acme", PREFS)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert world.football.id in world.platform("bob@example.com")
    assert world.newsletter.id in world.platform("cy@example.com")
    assert world.row("ada-lead", "Tennis")["dms_optedin"] is True
    assert len(world.rows()) == 15
    # Two contacts set on the platform, four rows (Bob, Cy, Ada and her lead) in Dynamics.
    assert (audit.counts.created, audit.counts.updated, audit.counts.failed) == (0, 2 + 4, 0)


def test_a_killed_worker_s_run_is_finished_by_the_redelivered_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_slices(world, monkeypatch, rows_per_batch=4)
    batches = 0
    execute = world.rt.dataverse().execute_batch

    def dies_after_the_second_row_batch(*args: Any, **kwargs: Any) -> Any:
        nonlocal batches
        outcome = execute(*args, **kwargs)
        if any(r.request.method == "PATCH" for r in outcome.results):
            batches += 1
            if batches == 3:  # the preferences, then two batches of rows: then it dies
                raise _Killed
        return outcome

    monkeypatch.setattr(world.rt.dataverse(), "execute_batch", dies_after_the_second_row_batch)
    admin.sync_now(world.rt, "acme", PREFS)

    assert _run_to_the_end(world) == 1

    audit = latest(world.rt, "acme", PREFS)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert len(world.rows()) == 15  # no second row for anything
    # The dead slice's rows were written, and its replay finds them written: they count once,
    # as in a run nobody killed (the unit's intent was saved before its writes).
    assert audit.counts.read == 5 and audit.counts.created == 4 + 15


def test_a_new_record_later_gets_the_platform_state_with_one_call_for_its_email(
    world: World,
) -> None:
    world.run()
    dave = _person(world.dv, "contact", "dave@example.com")
    contact = world.dd.store.add_contact("dave@example.com", when=world.dd.now())
    world.dd.preference_optins.change(contact, world.tennis.id, True, world.dd.now() - 86400)
    membership_history(world.rt).add("acme", "contact", [dave])
    world.tick()
    calls = world.dd.counters.count("GET", CONTACT_SUBSCRIPTIONS)

    audit = world.run()

    assert world.rows()[("contact", dave, "Tennis")]["dms_optedin"] is True
    assert world.dd.counters.count("GET", CONTACT_SUBSCRIPTIONS) == calls + 1
    assert audit.counts.created == 3


class _Killed(BaseException):
    """The worker process dies: nothing after this point of the slice happens."""


def test_the_cli_shows_a_records_preferences_filtered_as_the_form_does(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from shared.cli import app as cli
    from shared.cli import environment

    monkeypatch.setattr(environment, "load_local_settings", lambda: None)
    world.run()
    _, ada = world.records["ada"]

    def show(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            cli.app, ["preferences", "show", "acme", *args], env={"COLUMNS": "250"}
        )
        return result.exit_code, result.output

    code, out = show(f"contact:{ada}")
    assert code == 0, out
    assert "Football" in out and "Tennis" in out and "Newsletter" in out
    code, out = show(f"contact:{ada}", "--filter", "opted-in")
    assert code == 0 and "Football" in out and "Tennis" not in out, out
    code, out = show(f"contact:{ada}", "--filter", "opted-out")
    assert "Football" not in out and "Tennis" in out and "Newsletter" in out, out
    code, out = show(f"contact:{ada}", "--filter", "private")
    assert "Newsletter" in out and "newsletter-internal" in out and "Tennis" not in out, out
    code, out = show("ADA@example.com", "--filter", "public")  # her contact and her lead
    assert "Newsletter" not in out and out.count("Opted in") == 2 and "lead:" in out, out
    code, out = show("nobody")
    assert code == 2 and out.startswith("Error: ") and "contact:<id>" in out, out
    code, out = show(f"contact:{ada}", "--filter", "opted-in", "--output", "json")
    assert code == 0, out
    lines = json.loads(out)  # the lines the table shows, one JSON document
    assert {line["preference"] for line in lines} == {"Football"}
    assert all(line["opted_in"] and line["record"] == f"contact:{ada}" for line in lines)
    assert json.loads(show("nobody@example.com", "-o", "json")[1]) == []


def test_a_row_a_crm_user_saves_during_the_run_is_left_to_the_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.sync.preferences.plan import Planner

    world.run()
    world.opt("bob@example.com", world.newsletter, True)  # to reach Bob's row this run...
    world.tick()
    plan = Planner.plan

    def and_meanwhile(self: Planner) -> Any:
        decided = plan(self)
        world.tick(1)
        world.edit("bob", "Newsletter", True)  # ...which a CRM user saves after the read
        world.tick(1)
        return decided

    monkeypatch.setattr(Planner, "plan", and_meanwhile)
    audit = world.run()
    monkeypatch.setattr(Planner, "plan", plan)

    row = world.row("bob", "Newsletter")
    assert (row["dms_optedin"], row["dms_syncedoptedin"]) == (True, False)  # not overwritten
    details = {d.item: d for d in world.rt.audit.details("acme", audit.row_key)}
    assert "1 rows changed in Dynamics meanwhile" in details["Skipped"].message
    world.run()  # both sides now say opted in: agreed
    row = world.row("bob", "Newsletter")
    assert (row["dms_optedin"], row["dms_syncedoptedin"]) == (True, True)
    assert world.newsletter.id in world.platform("bob@example.com")
    assert world.run().message == Messages.NO_NEW_OBJECTS
