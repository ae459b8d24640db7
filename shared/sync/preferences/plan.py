"""One MarketingPreferences run's reads and decisions: what to write on each side.

Records: every contact, lead and account in the account's list membership history, with the
email Dynamics has for it now (records sharing an email share the platform contact). For each
(email, preference) `decide` gives the agreed value; the records' subscription rows that do not
hold it are written (rows missing are created), and the platform is set when it does not hold
it. Suppressed contacts are left out entirely. Everything here is per email account: rows are
read and written with the account's id, the platform is the account's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.preferences import Preference, PreferenceChoice
from shared.engine.watermark import WatermarkWindow
from shared.mappings.model import DataMapping, MappedEntity
from shared.sync.marketing_lists.history_repo import ENTITIES, MembershipHistory
from shared.sync.marketing_lists.values import email_field
from shared.sync.preferences import dynamics as dv
from shared.sync.preferences.decide import Decision, PlatformValue, RowState, decide
from shared.sync.preferences.platform import (
    EPOCH,
    EmailState,
    PlatformWrite,
    read_changes,
    read_full,
    read_suppressed,
)

SKEW = timedelta(minutes=5)  # read opt-ins from this much before the last run's start
BULK_AT = 500  # records new to the sync above which one full read beats a call per email


@dataclass(frozen=True, slots=True)
class RowWrite:
    """One subscription row to create (`row` None) or update; its request is built when it is
    sent, so a plan of 100,000 rows holds small records, not request bodies."""

    record: dv.RecordKey
    preference: Preference
    key: str  # the record's email (also for the audit)
    value: bool
    modified: datetime | None
    row: dv.SubscriptionRow | None
    depends_on: str = ""  # an email whose platform write must succeed first
    platform_change: datetime | None = None  # a platform change it carries (for the watermark)

    @property
    def created(self) -> bool:
        return self.row is None

    def request(self, account_id: str) -> BatchRequest:
        if self.row is None:
            body = dv.subscription_body(
                account_id, self.record, self.preference, self.key, self.value, self.modified
            )
            row_id = dv.subscription_row_id(account_id, self.record, self.preference.id)
            return BatchRequest.upsert(dv.SUBSCRIPTION_SET, row_id, body)
        changes: dict[str, object] = {
            "dms_optedin": self.value,
            "dms_syncedoptedin": self.value,
            "dms_email": self.key,
        }
        if self.modified is not None:
            changes["dms_lastmodified"] = dv.utc_text(self.modified)
        return BatchRequest.update(
            dv.SUBSCRIPTION_SET, self.row.row_id, changes, if_match=self.row.etag
        )


@dataclass
class Plan:
    preferences: list[tuple[BatchRequest, bool]] = field(default_factory=list)  # (write, created)
    platform: list[PlatformWrite] = field(default_factory=list)
    rows: list[RowWrite] = field(default_factory=list)
    records: int = 0
    suppressed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)


def _flatten(tree: list[Preference]) -> dict[int, tuple[Preference, Preference | None]]:
    """Every preference and category by id, with its category (None at the top level)."""
    found: dict[int, tuple[Preference, Preference | None]] = {}
    for item in tree:
        found[item.id] = (item, None)
        for child in item.preferences:
            found[child.id] = (child, item)
    return found


@dataclass
class Planner:
    account_id: str
    dataverse: DataverseClient
    platform: DotdigitalClient
    history: MembershipHistory
    mappings: list[DataMapping]
    window: WatermarkWindow
    bulk_at: int = BULK_AT

    def plan(self) -> Plan:
        plan = Plan()
        items = _flatten(self.platform.list_preferences())
        self._preference_rows(items, plan)
        preferences = {i: p for i, (p, _) in items.items() if p.is_preference}
        categories = {i: (c.id if c is not None else None) for i, (_, c) in items.items()}
        emails = self._record_emails(plan)
        plan.records = len(emails)
        by_email: dict[str, list[dv.RecordKey]] = {}
        for record, email in emails.items():
            by_email.setdefault(email.lower(), []).append(record)
        row_ids = {dv.preference_row_id(self.account_id, i): i for i in preferences}
        rows = {
            (row.record, row.preference_id): row
            for row in dv.iter_subscriptions(self.dataverse, self.account_id, row_ids)
        }
        states = self._platform(plan, preferences, emails, by_email, rows)
        for email, records in sorted(by_email.items()):
            state = states.get(email)
            if state is not None and state.suppressed:
                plan.suppressed += 1
                continue
            choices: list[PreferenceChoice] = []
            pending: list[RowWrite] = []
            for preference in preferences.values():
                existing = [rows[(r, preference.id)] for r in records if (r, preference.id) in rows]
                value = state.value(preference.id) if state is not None else None
                decision = decide(
                    [RowState(r.opted_in, r.synced, r.modified) for r in existing], value
                )
                if decision is None:
                    continue
                if decision.set_platform:
                    choices.append(
                        PreferenceChoice(
                            preference_id=preference.id,
                            opted_in=decision.value,
                            category_id=categories.get(preference.id),
                        )
                    )
                pending.extend(self._row_writes(preference, records, emails, rows, decision, value))
            if choices:
                if state is None or not state.exists or not state.contact_id:
                    plan.failures.append((email, "no Dotdigital contact has this email"))
                    pending = [w for w in pending if not w.depends_on]
                else:
                    plan.platform.append(PlatformWrite(email, state.contact_id, tuple(choices)))
            plan.rows.extend(pending)
        return plan

    # Reads -----------------------------------------------------------------------------------

    def _preference_rows(
        self, items: Mapping[int, tuple[Preference, Preference | None]], plan: Plan
    ) -> None:
        stored = dv.read_preference_rows(self.dataverse, self.account_id)
        for platform_id, (item, category) in items.items():
            body = dv.preference_body(self.account_id, item, category)
            changes = dv.changed_columns(stored.get(platform_id), body)
            if changes:
                row_id = dv.preference_row_id(self.account_id, platform_id)
                request = BatchRequest.upsert(dv.PREFERENCE_SET, row_id, changes)
                plan.preferences.append((request, platform_id not in stored))

    def _record_emails(self, plan: Plan) -> dict[dv.RecordKey, str]:
        emails: dict[dv.RecordKey, str] = {}
        for entity in ENTITIES:
            ids = self.history.ids(self.account_id, entity)
            if not ids:
                continue
            column = email_field(self.mappings, MappedEntity(entity))
            found, failed = dv.read_emails(self.dataverse, entity, ids, column)
            if failed:
                plan.failures.append((f"{entity}s", f"{failed} groups of records unreadable"))
            emails.update(((entity, record_id), email) for record_id, email in found.items())
        return emails

    def _platform(
        self,
        plan: Plan,
        preferences: Mapping[int, Preference],
        emails: Mapping[dv.RecordKey, str],
        by_email: Mapping[str, list[dv.RecordKey]],
        rows: Mapping[tuple[dv.RecordKey, int], dv.SubscriptionRow],
    ) -> dict[str, EmailState]:
        since = self.window.read_from(SKEW)
        new = {
            emails[r].lower()
            for r in emails
            if any((r, preference) not in rows for preference in preferences)
        }
        full = since is None or len(new) > self.bulk_at
        read_from = since if since is not None and not full else EPOCH
        states = read_changes(self.platform, preferences, read_from, since, full=full)
        if full or new:
            # Who is suppressed: one paged read rather than a call per new email (records of
            # suppressed contacts never get rows, so they stay new, run after run).
            suppressed = read_suppressed(self.platform)
            for email in by_email if full else new & suppressed:
                state = states.setdefault(email, EmailState(full=full))
                state.suppressed = state.suppressed or email in suppressed
            new -= suppressed
        edited = {
            emails[row.record].lower()
            for row in rows.values()
            if row.record in emails and RowState(row.opted_in, row.synced, None).edited
        }
        wanted = edited if full else edited | new
        need = sorted(e for e in wanted if not _known(states.get(e)))
        states.update(read_full(self.platform, need, since))
        return states

    # Decisions -> writes ---------------------------------------------------------------------

    def _row_writes(
        self,
        preference: Preference,
        records: list[dv.RecordKey],
        emails: Mapping[dv.RecordKey, str],
        rows: Mapping[tuple[dv.RecordKey, int], dv.SubscriptionRow],
        decision: Decision,
        value: PlatformValue | None,
    ) -> list[RowWrite]:
        """The rows of these records that do not hold the decided value (or the email), as
        writes; when the value is Dynamics' and the platform must be set first, the writes
        depend on that (a refused platform write leaves the rows as edited, tried again)."""
        carried = decision.modified if decision.winner == "platform" else None
        writes: list[RowWrite] = []
        for record in records:
            email = emails[record]
            row = rows.get((record, preference.id))
            if row is not None:
                agreed = row.opted_in == decision.value and row.synced == decision.value
                if agreed and row.email == email:
                    continue
            writes.append(
                RowWrite(
                    record,
                    preference,
                    email,
                    decision.value,
                    decision.modified,
                    row,
                    depends_on=email.lower() if decision.set_platform else "",
                    platform_change=_carry(value) if row is None else carried,
                )
            )
        return writes


def _carry(value: PlatformValue | None) -> datetime | None:
    return value.modified if value is not None and value.changed else None


def _known(state: EmailState | None) -> bool:
    return state is not None and state.full and (state.contact_id is not None or not state.exists)
