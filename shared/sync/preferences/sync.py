"""MarketingPreferences (two-way): an email account's preferences and categories become
`dms_marketingpreference` rows, and every record ever in one of its email-activated marketing
lists gets a `dms_marketingpreferencesubscription` row per preference, kept in step with the
platform both ways (`plan`: the direction rule is in `decide`).

A run reads both sides and decides (`Planner`), then writes in units, each followed by a
checkpoint: the preference rows, the platform's per-contact preferences a chunk of contacts at a
time (then the rows that waited for them), and the subscription rows a `$batch` at a time. A
continuation (a pause, a killed worker, a redelivered message) reads and decides again: what
was written is then agreed on both sides and not written twice, so the cursor holds the run's
window, its running counts and the intent of the unit being written (`in_flight`): nothing is
counted twice, and a unit whose worker died after writing it is still counted once.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import replace
from typing import Any

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path, query_string, select_option
from shared.clients.dotdigital.client import DotdigitalClient
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.engine.watermark import WatermarkWindow
from shared.sync.marketing_lists.history_repo import membership_history
from shared.sync.preferences.dynamics import SUBSCRIPTION_SET
from shared.sync.preferences.in_flight import Kind, UnitPlan, key, planned, settle, take
from shared.sync.preferences.plan import Plan, Planner, RowWrite
from shared.sync.preferences.platform import write_preferences
from shared.sync_types import SyncType

WATERMARK = "MarketingPreferences.optins"
ROWS_PER_BATCH = 1000  # Dataverse's most requests in one $batch
CONTACTS_PER_UNIT = 200  # platform writes between checkpoints
MAX_REPORTED = 20  # failed keys named one detail row each
STALE = 412


class PreferencesCursor(Cursor):
    window: WatermarkWindow
    read_counted: bool = False
    preferences_created: int = 0
    preferences_updated: int = 0
    rows_created: int = 0
    rows_updated: int = 0
    contacts_set: int = 0
    changed_meanwhile: int = 0  # rows a CRM user changed between the read and the write
    suppressed: int = 0
    failures: list[str] = []  # "key: reason", the first MAX_REPORTED
    in_flight: UnitPlan | None = None  # the unit being written, saved before its writes


class MarketingPreferences(SyncTypeTemplate[PreferencesCursor]):
    declaration = SyncDeclaration(
        SyncType.MARKETING_PREFERENCES,
        frozenset({Platform.DOTDIGITAL}),
        Direction.BOTH,
        summary="preferences <-> marketing preference subscriptions of listed records",
    )
    cursor_model = PreferencesCursor

    def __init__(
        self,
        *,
        rows_per_batch: int = ROWS_PER_BATCH,
        contacts_per_unit: int = CONTACTS_PER_UNIT,
        bulk_at: int | None = None,
    ) -> None:
        self.rows_per_batch = rows_per_batch
        self.contacts_per_unit = contacts_per_unit
        self.bulk_at = bulk_at

    def start(self, run: Run[PreferencesCursor]) -> PreferencesCursor:
        return PreferencesCursor(window=run.watermark(WATERMARK))

    def watermarks(self, cursor: PreferencesCursor) -> list[WatermarkWindow]:
        return [cursor.window]

    def run(self, run: Run[PreferencesCursor]) -> Steps:
        c = run.cursor
        account_id = run.account.account_id
        dataverse = run.services.dataverse()
        platform = run.platform(DotdigitalClient)
        planner = Planner(
            account_id=account_id,
            dataverse=dataverse,
            platform=platform,
            history=membership_history(run.services),
            mappings=run.services.mappings.for_account(account_id),
            window=c.window,
        )
        if self.bulk_at is not None:
            planner.bulk_at = self.bulk_at
        plan = planner.plan()
        if not c.read_counted:  # a continuation decides again: count once
            c.read_counted = True
            c.suppressed = plan.suppressed
            run.counts += Counts(read=plan.records)
            for key, reason in plan.failures:
                _fail(run, key, reason)

        writer = _Writer(run, dataverse, platform)
        if c.in_flight is not None:  # a unit a dead worker wrote: finish what is left of it
            unit = c.in_flight
            yield from writer.unit(unit.kind, take(plan, unit), unit)
        if plan.preferences:
            yield from writer.unit("preferences", plan.preferences)
        for start in range(0, len(plan.platform), self.contacts_per_unit):
            yield from writer.unit(
                "platform", plan.platform[start : start + self.contacts_per_unit]
            )
        rows = [w for w in plan.rows if not w.depends_on or w.depends_on not in writer.refused]
        for start in range(0, len(rows), self.rows_per_batch):
            yield from writer.unit("rows", rows[start : start + self.rows_per_batch])
        return _result(run, plan)


class _Writer:
    """One slice's units: each saved as intended, written, then counted (see `in_flight`)."""

    def __init__(
        self, run: Run[PreferencesCursor], dataverse: DataverseClient, platform: DotdigitalClient
    ) -> None:
        self.run = run
        self.dataverse = dataverse
        self.platform = platform
        self.refused: set[str] = set()  # emails whose platform write was refused this slice

    def unit(
        self, kind: Kind, items: list[Any], resumed: UnitPlan | None = None
    ) -> Generator[None, None, None]:
        """One unit: its intent saved (a checkpoint that does not pause), its writes, its counts
        (`resumed`: the intent of the unit a dead worker was writing; `items`: what is left)."""
        run = self.run
        c = run.cursor
        meant = planned(kind, items)
        if resumed is None:
            c.in_flight = UnitPlan(kind=kind, keys=[key(kind, i) for i in items], counts=meant)
            run.save_only()
            yield
        intended = resumed.counts if resumed is not None else meant
        if kind == "preferences":
            done = self._write_preferences(items)
        elif kind == "platform":
            done = self._write_platform(items)
        else:
            done = self._write_rows(items)
        for counter, number in settle(intended, meant, done).items():
            setattr(c, counter, getattr(c, counter) + number)
            created = counter.endswith("_created")
            run.counts += Counts(created=number) if created else Counts(updated=number)
        c.in_flight = None
        yield

    def _write_preferences(self, items: Sequence[tuple[BatchRequest, bool]]) -> dict[str, int]:
        run, dataverse = self.run, self.dataverse
        done = {"preferences_created": 0, "preferences_updated": 0}
        if not items:
            return done
        outcome = dataverse.execute_batch([request for request, _ in items])
        for result, (request, created) in zip(outcome.results, items, strict=True):
            if not result.ok:
                _fail(run, request.url, result.error_message or f"HTTP {result.status}")
            else:
                done["preferences_created" if created else "preferences_updated"] += 1
        return done

    def _write_platform(self, chunk: Sequence[Any]) -> dict[str, int]:
        failed = write_preferences(self.platform, chunk) if chunk else []
        for write, reason in failed:
            self.refused.add(write.email)
            _fail(self.run, write.email, reason)
        return {"contacts_set": len(chunk) - len(failed)}

    def _write_rows(self, rows: Sequence[RowWrite]) -> dict[str, int]:
        run, dataverse = self.run, self.dataverse
        c = run.cursor
        done = {"rows_created": 0, "rows_updated": 0}
        if not rows:
            return done
        requests: list[BatchRequest] = [w.request(run.account.account_id) for w in rows]
        outcome = dataverse.execute_batch(requests)
        results = list(outcome.results)
        resent = [n for n, r in enumerate(results) if r.status == STALE and r.resent]
        for n, own in zip(resent, self._own_writes([rows[n] for n in resent]), strict=True):
            if own:  # the first send of a batch whose answer was lost wrote it: ours
                results[n] = replace(results[n], status=200)
        for result, write in zip(results, rows, strict=True):
            if result.ok:
                done["rows_created" if write.created else "rows_updated"] += 1
                continue
            if write.platform_change is not None:
                c.window.hold_back(write.platform_change)  # read that change again next run
            if result.status == STALE:
                c.changed_meanwhile += 1  # decided again next run, with the CRM user's value
                continue
            _fail(run, write.key, result.error_message or f"HTTP {result.status}")
        return done

    def _own_writes(self, rows: Sequence[RowWrite]) -> list[bool]:
        """Whether each row (412 on a resent batch) holds what this run wrote: both columns at
        the value (a CRM user's change since would differ in one of them)."""
        ids = [w.row.row_id if w.row is not None else "" for w in rows]
        if not all(ids):  # only updates are conditional
            return [False] * len(rows)
        if not rows:
            return []
        select = query_string([("$select", select_option(["dms_optedin", "dms_syncedoptedin"]))])
        requests = [BatchRequest.get(f"{entity_path(SUBSCRIPTION_SET, i)}?{select}") for i in ids]
        own = []
        for write, read in zip(rows, self.dataverse.execute_batch(requests).results, strict=True):
            body: Any = read.body
            own.append(read.ok and isinstance(body, dict)
                       and body.get("dms_optedin") == write.value
                       and body.get("dms_syncedoptedin") == write.value)  # fmt: skip
        return own


def _fail(run: Run[PreferencesCursor], key: str, reason: str) -> None:
    run.counts += Counts(failed=1)
    if len(run.cursor.failures) < MAX_REPORTED:
        run.cursor.failures.append(f"{key}: {reason}")


def _result(run: Run[PreferencesCursor], plan: Plan) -> SyncResult:
    c = run.cursor
    if c.preferences_created or c.preferences_updated:
        run.detail(
            AuditDetail(
                item="Marketing preferences",
                status=AuditStatus.COMPLETED,
                message=f"{c.preferences_created} created, {c.preferences_updated} updated",
                counts=Counts(created=c.preferences_created, updated=c.preferences_updated),
            )
        )
    if c.rows_created or c.rows_updated:
        run.detail(
            AuditDetail(
                item="Marketing preference subscriptions (Dynamics)",
                status=AuditStatus.COMPLETED,
                message=f"{c.rows_created} created, {c.rows_updated} updated",
                counts=Counts(created=c.rows_created, updated=c.rows_updated),
            )
        )
    if c.contacts_set:
        run.detail(
            AuditDetail(
                item="Contact preferences (Dotdigital)",
                status=AuditStatus.COMPLETED,
                message=f"{c.contacts_set} contacts' preferences set",
                counts=Counts(updated=c.contacts_set),
            )
        )
    for failure in c.failures:
        key, _, reason = failure.partition(": ")
        run.detail(AuditDetail(item=key, status=AuditStatus.FAILED, message=reason))
    notes = []
    if c.suppressed:
        notes.append(f"{c.suppressed} suppressed contacts ignored (neither read nor written)")
    if c.changed_meanwhile:
        notes.append(f"{c.changed_meanwhile} rows changed in Dynamics meanwhile, synced next run")
    if notes:
        run.detail(
            AuditDetail(item="Skipped", status=AuditStatus.COMPLETED, message="; ".join(notes))
        )
    counts = run.counts
    if not (counts.created or counts.updated or counts.failed):
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    message = (
        f"Marketing preferences synced for {plan.records} records: {c.rows_created} "
        f"subscriptions created and {c.rows_updated} updated in Dynamics, {c.contacts_set} "
        f"contacts updated in Dotdigital"
    )
    if counts.failed:
        message += f"; {counts.failed} failed"
        status = AuditStatus.COMPLETED_WITH_ERRORS
    else:
        status = AuditStatus.COMPLETED
    return SyncResult(status, message)
