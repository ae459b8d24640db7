"""MarketingPreferences (two-way): an email account's preferences and categories become
`dms_marketingpreference` rows, and every record ever in one of its email-activated marketing
lists gets a `dms_marketingpreferencesubscription` row per preference, kept in step with the
platform both ways (`plan`: the direction rule is in `decide`).

A run reads both sides and decides (`Planner`), then writes in units, each followed by a
checkpoint: the preference rows, the platform's per-contact preferences a chunk of contacts at a
time (then the rows that waited for them), and the subscription rows a `$batch` at a time. A
continuation (a pause, a killed worker, a redelivered message) reads and decides again: what
was written is then agreed on both sides and not written twice, so the cursor holds only the
run's window and its running counts, and nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
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

        if plan.preferences:
            outcome = dataverse.execute_batch([request for request, _ in plan.preferences])
            for result, (request, created) in zip(outcome.results, plan.preferences, strict=True):
                if not result.ok:
                    _fail(run, request.url, result.error_message or f"HTTP {result.status}")
                elif created:
                    c.preferences_created += 1
                    run.counts += Counts(created=1)
                else:
                    c.preferences_updated += 1
                    run.counts += Counts(updated=1)
            yield

        refused: set[str] = set()
        for start in range(0, len(plan.platform), self.contacts_per_unit):
            chunk = plan.platform[start : start + self.contacts_per_unit]
            failed = write_preferences(platform, chunk)
            for write, reason in failed:
                refused.add(write.email)
                _fail(run, write.email, reason)
            c.contacts_set += len(chunk) - len(failed)
            run.counts += Counts(updated=len(chunk) - len(failed))
            yield

        rows = [w for w in plan.rows if not w.depends_on or w.depends_on not in refused]
        for start in range(0, len(rows), self.rows_per_batch):
            self._write_rows(run, dataverse, rows[start : start + self.rows_per_batch])
            yield
        return _result(run, plan)

    def _write_rows(
        self, run: Run[PreferencesCursor], dataverse: DataverseClient, rows: Sequence[RowWrite]
    ) -> None:
        c = run.cursor
        requests: list[BatchRequest] = [w.request(run.account.account_id) for w in rows]
        outcome = dataverse.execute_batch(requests)
        for result, write in zip(outcome.results, rows, strict=True):
            if result.ok:
                if write.created:
                    c.rows_created += 1
                    run.counts += Counts(created=1)
                else:
                    c.rows_updated += 1
                    run.counts += Counts(updated=1)
                continue
            if write.platform_change is not None:
                c.window.hold_back(write.platform_change)  # read that change again next run
            if result.status == STALE:
                c.changed_meanwhile += 1  # decided again next run, with the CRM user's value
                continue
            _fail(run, write.key, result.error_message or f"HTTP {result.status}")


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
