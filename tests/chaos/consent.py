"""Chaos worlds for the consent sync types (issue 10): the marketing-list world with, on top, what
each type reads (address book unsubscribes of a linked list; platform opt-in types), and an end
state that covers what they write: the connector's Dynamics tables, list members, opt-in types,
Do not Bulk Email, notes, the platform's contacts, and the audit with its messages."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sandbox.dataverse.records import Records
from sandbox.launch import Sandboxes
from shared.audit import AuditStatus
from shared.azurite import AzuriteProcess
from shared.engine import SyncTypeTemplate
from shared.pipeline import admin
from shared.sync.contact_opt_in import ContactOptIn
from shared.sync.marketing_lists.history_repo import membership_history
from shared.sync.marketing_lists.links_repo import ListLink, list_links
from shared.sync.preferences.sync import MarketingPreferences
from shared.sync.suppressions.sync_type import SuppressionLists
from shared.sync.unsubscribes import Unsubscribes, row_id
from shared.sync_types import SyncType
from tests.chaos.harness import Broker, KillSwitch
from tests.chaos.world import LIST_NAME, SANDBOX_START, ChaosWorld, WorldSpec, build_world

# What the consent types write in Dynamics (the tables a sandbox does not have are skipped).
TABLES = (
    "contact",
    "lead",
    "account",
    "list",
    "dms_listunsubscriber",
    "dms_emailsuppression",
    "dms_marketingpreference",
    "dms_marketingpreferencesubscription",
    "annotation",
)
SUPPRESSION_ROWS = "dms_emailsuppression"
SUBSCRIPTIONS = "dms_marketingpreferencesubscription"
OPT_IN_TYPES = ("Unknown", "Single", "Double", "VerifiedDouble")
HOUR = 3600.0

# Written by Dataverse at each write: equal when the same writes happened at the same (sandbox)
# times; retries under faults wait in sandbox time, so those runs compare the rest only.
STAMPS = ("@odata.etag", "versionnumber", "modifiedon", "createdon")

WHEN_IN_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")

AuditLine = tuple[str, str, tuple[int, int, int, int, int], str]  # item, status, counts, message


@dataclass(frozen=True)
class ConsentCase:
    """One sync type's chaos run: its world and its instance (page size: several pages)."""

    sync_type: SyncType
    members: int  # the marketing list's contacts (the world has 10% more contacts)
    page_size: int
    seed: Callable[[ChaosWorld], None]
    make: Callable[[int], SyncTypeTemplate[Any]]

    @property
    def name(self) -> str:
        return self.sync_type.value


def _seed_unsubscribes(world: ChaosWorld) -> None:
    """The list's address book (linked) holds the list's members; 60% of them unsubscribed in
    the last hours, with 10 contacts outside the list and 5 unknown emails; 5 unsubscribers were
    recorded and removed by an earlier run (the run finds them "recorded already")."""
    dv, store = world.sandboxes.dataverse, world.sandboxes.dotdigital.store
    members = [dv.row("contact", m) for m in dv.list_members(world.list_id)]
    emails = [str(r["emailaddress1"]) for r in members if r and r.get("emailaddress1")]
    in_list = {str(r["emailaddress1"]).lower() for r in members if r and r.get("emailaddress1")}
    outside = [
        str(r["emailaddress1"])
        for r in (dv.row("contact", c) for c in list(dv.table("contact").rows))
        if r and r.get("emailaddress1") and str(r["emailaddress1"]).lower() not in in_list
    ][:10]
    unknown = [f"nobody{n}@example.org" for n in range(5)]
    book = store.add_book(LIST_NAME)
    start = SANDBOX_START - 2 * 24 * HOUR
    for email in emails + outside + unknown:
        store.join(book, store.by_email(email) or store.add_contact(email, when=start), start)
    gone = [e for n, e in enumerate(emails) if n % 5 < 3] + outside + unknown
    for n, email in enumerate(gone):
        contact = store.by_email(email)
        assert contact is not None
        store.unsubscribe_from_book(book, contact, SANDBOX_START - 3 * HOUR + n)
    rt = world.runtime()
    list_links(rt).save(
        world.account_id,
        ListLink(list_id=world.list_id, list_name=LIST_NAME, member_type="contact",
                 address_book_id=book.id, address_book_name=book.name, origin="Dynamics"),
    )  # fmt: skip
    by_email = {str(r["emailaddress1"]).lower(): r["contactid"] for r in members if r}
    for record in book.unsubscribes[:5]:  # an earlier run's work: the row there, out of the list
        email = store.contacts[record.contact_id].email or ""
        with dv.lock:
            Records(dv).remove_member(dv.tables["list"].get(world.list_id), by_email[email.lower()])
        moment = datetime.fromtimestamp(record.date, UTC)
        dv.insert("dms_listunsubscriber", {
            "dms_listunsubscriberid": row_id(world.account_id, world.list_id, email, moment),
            "dms_email": email, "dms_emailaccountid": world.account_id,
        })  # fmt: skip


def _seed_opt_in(world: ChaosWorld) -> None:
    """Every Dynamics contact with an email is a platform contact with an opt-in type (the four
    in turn, changed an hour ago); leads and accounts share some of the emails; some records
    hold a type already (higher: kept; equal: unchanged)."""
    dv, store = world.sandboxes.dataverse, world.sandboxes.dotdigital.store
    contacts = [dv.row("contact", c) for c in list(dv.table("contact").rows)]
    emails = sorted(str(r["emailaddress1"]) for r in contacts if r and r.get("emailaddress1"))
    when = SANDBOX_START - HOUR
    for n, email in enumerate(emails):
        contact = store.by_email(email) or store.add_contact(email, when=when)
        contact.opt_in_type = OPT_IN_TYPES[n % 4]
        contact.updated = when + n
    for n, email in enumerate(emails[::5]):
        dv.insert("lead", {"emailaddress1": email.upper(), "lastname": f"Lead {n}",
                           "dms_optintype": 3 if n % 3 == 0 else None})  # fmt: skip
    accounts = sorted(list(dv.table("account").rows))
    for account_id, email in zip(accounts, emails[1::7], strict=False):
        dv.update("account", account_id, {"emailaddress1": email})
    for n, contact_id in enumerate(sorted(list(dv.table("contact").rows))):
        if n % 7 == 0:
            dv.update("contact", contact_id, {"dms_optintype": 4})


def _seed_suppressions(world: ChaosWorld) -> None:
    """Every phase of SuppressionLists has work: 20 rows a CRM user added (5 emails unknown to
    the platform); 15 rows with Request Resubscribe (5 challenged, 5 that cannot be, 5 subscribed
    already); 125 platform suppressions (every 4th email also a lead; 5 not in Dynamics); 15
    rows of contacts resubscribed in the platform since the last run."""
    dv, dd = world.sandboxes.dataverse, world.sandboxes.dotdigital
    store = dd.store
    rows = [dv.row("contact", c) for c in sorted(dv.table("contact").rows)]
    people = {
        str(r["emailaddress1"]): str(r["contactid"]) for r in rows if r and r.get("emailaddress1")
    }
    emails = sorted(people)
    when = SANDBOX_START - 3 * HOUR
    old = SANDBOX_START - 3 * 24 * HOUR

    def contact(email: str, status: str = "Subscribed", at: float = when) -> None:
        record = store.by_email(email) or store.add_contact(email, when=old)
        if status != "Subscribed":
            store.suppress(record, status, at)

    def row(email: str, source: int, **values: Any) -> None:
        bind = (
            {"dms_contactid@odata.bind": f"/contacts({people[email]})"} if email in people else {}
        )
        account = {"dms_emailaccountid": world.account_id}
        dv.insert(SUPPRESSION_ROWS, {"dms_email": email, "dms_source": source, **account,
                                     **bind, **values})  # fmt: skip

    reasons = ("Unsubscribed", "HardBounced", "IspComplained", "Suppressed")
    for n, email in enumerate(emails[:120] + [f"gone{n}@example.org" for n in range(5)]):
        contact(email, reasons[n % 4], when + n)
    for n, email in enumerate(emails[:120:4]):
        dv.insert("lead", {"emailaddress1": email, "lastname": f"Lead {n}"})
    for email in emails[200:215] + [f"new{n}@example.org" for n in range(5)]:
        if email in people:
            contact(email)
        row(email, 2)
    for n, email in enumerate(emails[215:230]):
        contact(email, ("Unsubscribed", "IspComplained", "Subscribed")[n // 5], when + n)
        dv.update("contact", people[email], {"donotbulkemail": True})
        row(email, 1, dms_requestresubscribe=True)
    for email in emails[230:245]:
        contact(email)
        store.by_email(email).updated = SANDBOX_START - HOUR  # type: ignore[union-attr]
        dv.update("contact", people[email], {"donotbulkemail": True})
        row(email, 1)
    rt = world.runtime()
    earlier = datetime.fromtimestamp(SANDBOX_START - 2 * 24 * HOUR, UTC).isoformat()
    rt.state.set_value(world.account_id, f"{SyncType.SUPPRESSION_LISTS.value}-Resubscribed",
                       earlier, world.clock.now)  # fmt: skip


def _seed_preferences(world: ChaosWorld) -> None:
    """The list's contacts (and 30 leads sharing their emails) are in the membership history;
    three preferences (two in a category, one private); every email a platform contact, 250
    opted in to one or two preferences. A first run (undisturbed) makes the rows; then 25 rows
    are changed in Dynamics and 25 contacts change a preference on the platform: the run under
    test writes both ways."""
    dv, dd = world.sandboxes.dataverse, world.sandboxes.dotdigital
    store = dd.store
    # The connector's clock and the APIs' agree (the direction rule compares their dates).
    world.sandbox_clock.advance(world.clock.now.timestamp() - world.sandbox_clock.now() - 3600)
    topics = dd.add_preference_category("Topics")
    prefs = [dd.add_preference("Football", category=topics),
             dd.add_preference("Tennis", category=topics),
             dd.add_preference("Insiders", is_public=False)]  # fmt: skip
    members = [dv.row("contact", m) for m in dv.list_members(world.list_id)]
    people = sorted((str(r["emailaddress1"]), str(r["contactid"]))
                    for r in members if r and r.get("emailaddress1"))  # fmt: skip
    leads = [dv.insert("lead", {"emailaddress1": e, "lastname": f"Lead {n}"})
             for n, (e, _) in enumerate(people[:30])]  # fmt: skip
    rt = world.runtime()
    history = membership_history(rt)
    history.add(world.account_id, "contact", [c for _, c in people])
    history.add(world.account_id, "lead", leads)
    when = dd.now() - 1800
    for n, (email, _) in enumerate(people):
        contact = store.by_email(email) or store.add_contact(email, when=when - 86400)
        if n >= 250:
            continue  # no preference yet
        dd.preference_optins.change(contact, prefs[n % 3].id, True, when + n)
        if n % 4 == 0:
            dd.preference_optins.change(contact, prefs[(n + 1) % 3].id, True, when + n)
    admin.sync_now(rt, world.account_id, SyncType.MARKETING_PREFERENCES)
    Broker(world, sync_type=SyncType.MARKETING_PREFERENCES).run_to_the_end()
    world.clock.advance(minutes=10)
    world.sandbox_clock.advance(world.clock.now.timestamp() - world.sandbox_clock.now())
    rows = sorted(dv.table(SUBSCRIPTIONS).rows)
    for key in rows[:: len(rows) // 25][:25]:  # a CRM user flips 25 subscriptions
        row = dv.row(SUBSCRIPTIONS, key) or {}
        dv.update(SUBSCRIPTIONS, key, {"dms_optedin": not row.get("dms_optedin")})
    world.sandbox_clock.advance(60)
    for n, (email, _) in enumerate(people[100:125]):  # 25 contacts change one on the platform
        contact = store.by_email(email)
        assert contact is not None
        opted = prefs[2].id in contact.preferences
        dd.preference_optins.change(contact, prefs[2].id, not opted, dd.now() + n)
    world.sandbox_clock.advance(60)
    world.clock.now = datetime.fromtimestamp(world.sandbox_clock.now(), UTC)


CASES = (
    ConsentCase(
        SyncType.UNSUBSCRIBES,
        300,
        40,
        _seed_unsubscribes,
        lambda size: Unsubscribes(page_size=size),
    ),
    ConsentCase(
        SyncType.CONTACT_OPT_IN, 300, 60, _seed_opt_in, lambda size: ContactOptIn(page_size=size)
    ),
    ConsentCase(
        SyncType.SUPPRESSION_LISTS,
        300,
        25,
        _seed_suppressions,
        lambda size: SuppressionLists(page_size=size),
    ),
    ConsentCase(
        SyncType.MARKETING_PREFERENCES,
        300,
        100,
        _seed_preferences,
        lambda size: MarketingPreferences(rows_per_batch=size, contacts_per_unit=10),
    ),
)
CASE_IDS = [case.name for case in CASES]


def build_consent_world(
    azurite: AzuriteProcess, sandboxes: Sandboxes, case: ConsentCase, *, page_size: int = 0
) -> ChaosWorld:
    world = build_world(azurite, sandboxes, WorldSpec(members=case.members))
    world.types = (case.make(page_size or case.page_size),)
    case.seed(world)
    return world


@dataclass(frozen=True)
class ConsentState:
    dataverse: dict[str, str]  # table -> digest of its rows (what a CRM user sees)
    stamps: dict[str, str]  # table -> digest of when and how often its rows were written
    members: tuple[str, ...]  # the marketing list's members
    platform: str  # digest of the platform's contacts (status, opt-in type, books)
    audit: tuple[AuditLine, ...]
    details: tuple[AuditLine, ...]

    def differences(self, other: ConsentState) -> list[str]:
        """Human-readable differences (empty when equal); `self` is the expected state."""
        out = []
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine == theirs:
                continue
            if isinstance(mine, dict):
                changed = sorted(k for k in mine.keys() | theirs.keys()
                                 if mine.get(k) != theirs.get(k))  # fmt: skip
                out.append(f"{f.name}: tables differ {changed}")
            elif f.name == "members":
                out.append(f"members: {len(theirs)}, expected {len(mine)}")
            elif isinstance(mine, tuple):
                lost = [line for line in mine if line not in theirs]
                new = [line for line in theirs if line not in mine]
                out.append(f"{f.name}: {new}, expected {lost}")
            else:
                out.append(f"{f.name}: differs")
        return out


def capture_consent(world: ChaosWorld) -> ConsentState:
    rt = world.runtime()
    dv = world.sandboxes.dataverse
    digests, stamps = {}, {}
    for name in TABLES:
        if name not in dv.tables:
            continue
        rows = [dv.row(name, r) or {} for r in list(dv.table(name).rows)]
        digests[name] = _digest(sorted(_dumps({k: v for k, v in row.items() if k not in STAMPS})
                                       for row in rows))  # fmt: skip
        stamps[name] = _digest(sorted(_dumps({k: row.get(k) for k in STAMPS}) for row in rows))
    store = world.sandboxes.dotdigital.store
    platform = [
        sorted((c.email or "", c.status, c.opt_in_type, sorted(c.books.items()))
               for c in store.contacts.values()),
        sorted((s.contact_id, s.date, s.reason) for s in store.suppressions),
        sorted(world.sandboxes.dotdigital.resubscriptions.confirmation_emails),
        sorted((c, p, v) for c, by in _optins(world).items() for p, v in by.items()),
    ]  # fmt: skip
    audit: list[AuditLine] = []
    details: list[AuditLine] = []
    for row in sorted(rt.audit.recent(world.account_id, limit=50), key=lambda r: r.row_key):
        audit.append((str(row.sync_type), row.status.value, _counts(row.counts), row.message))
        for d in rt.audit.details(world.account_id, row.row_key):
            details.append((f"{row.sync_type}: {d.item}", d.status.value, _counts(d.counts),
                            d.message))  # fmt: skip
    return ConsentState(
        dataverse=digests,
        stamps=stamps,
        members=tuple(sorted(dv.list_members(world.list_id))),
        platform=_digest(platform),
        audit=tuple(audit),
        details=tuple(sorted(details)),
    )


def _optins(world: ChaosWorld) -> dict[int, dict[int, Any]]:
    """The platform's dated preference opt-ins (a sandbox without preferences: none)."""
    optins = getattr(world.sandboxes.dotdigital, "preference_optins", None)
    return dict(getattr(optins, "by_contact", {}))


def _dumps(row: dict[str, Any]) -> str:
    text = json.dumps(row, sort_keys=True, default=str)
    # A note's "on <minute> UTC" is the connector's time of the write: a kill delays it by the
    # lease, the same write otherwise.
    return WHEN_IN_TEXT.sub("<minute> UTC", text)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()[:16]


def _counts(counts: Any) -> tuple[int, int, int, int, int]:
    return (counts.read, counts.created, counts.updated, counts.deleted, counts.failed)


@dataclass(frozen=True)
class ConsentReference:
    case: ConsentCase
    state: ConsentState
    trace: list[str]


def consent_reference(
    azurite: AzuriteProcess, sandboxes: Sandboxes, case: ConsentCase
) -> ConsentReference:
    """The run of `case` nobody killed and nothing disturbed."""
    world = build_consent_world(azurite, sandboxes, case)
    admin.sync_now(world.runtime(), world.account_id, case.sync_type)
    switch = KillSwitch(kill_at=None)
    log = Broker(world, switch, sync_type=case.sync_type).run_to_the_end()
    state = capture_consent(world)
    assert log.kills == 0 and log.deliveries >= 1
    line = state.audit[0]  # the newest: the run (a world may have made one before)
    assert line[1] == AuditStatus.COMPLETED.value, (line, state.details)
    assert line[2][0] > case.page_size, line  # several pages read
    return ConsentReference(case, state, switch.trace)


_references: dict[str, ConsentReference] = {}


def reference_for(
    case: ConsentCase, azurite: AzuriteProcess, sandboxes: Sandboxes
) -> ConsentReference:
    """The case's unkilled run, once a session (the worlds are deterministic)."""
    if case.name not in _references:
        _references[case.name] = consent_reference(azurite, sandboxes, case)
    return _references[case.name]
