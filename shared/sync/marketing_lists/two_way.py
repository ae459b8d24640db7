"""Two-way marketing list sync (the schedule of MarketingListsDataOut): MarketingListsDataIn,
then MarketingListsDataOut, so platform changes reach Dynamics before lists are pushed back and
are not overwritten (seed: "it will perform a marketing list data in first").

Neither phase starts when the account's last DataLabels sync failed (the declaration's gate).
The DataIn phase writes its own audit row (type MarketingListsDataIn, same run id and trigger,
details under it); the run's own row is DataOut's. The cursor holds both phases' cursors, so a
continuation or a redelivered message resumes in the phase it stopped in. DataIn failing stops
the run before DataOut: pushing then would overwrite the platform changes DataIn could not
bring in. DataIn's watermark is committed with the run, once DataOut has completed too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import ClassVar, Literal, cast

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts, Messages
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
    WatermarkWindow,
)
from shared.errors import SyncError
from shared.sync.marketing_lists.data_in import DataInCursor, MarketingListsDataIn
from shared.sync.marketing_lists.data_out import (
    DATA_LABELS_GATE,
    DataOutCursor,
    MarketingListsDataOut,
)
from shared.sync_types import SyncType

log = logging.getLogger(__name__)

DATA_IN = SyncType.MARKETING_LISTS_DATA_IN


def data_in_row_key(run_row_key: str) -> str:
    """The DataIn row sits just after the run's row: same start, listed as the older one."""
    return f"{run_row_key}-in"


class TwoWayCursor(Cursor):
    version: ClassVar[int] = 2  # 2: DataInCursor version 2

    phase: Literal["in", "out"] = "in"
    data_in: DataInCursor
    in_counts: Counts = Counts()
    in_completed: bool = False
    data_out: DataOutCursor | None = None


def relay(steps: Steps | SyncResult, after_each: Callable[[], None]) -> Steps:
    """Run a phase's steps as this run's own, calling `after_each` before each checkpoint."""
    if isinstance(steps, SyncResult):
        after_each()
        return steps
    while True:
        try:
            next(steps)
        except StopIteration as done:
            after_each()
            return cast(SyncResult, done.value)
        after_each()
        yield


class TwoWayMarketingLists(SyncTypeTemplate[TwoWayCursor]):
    declaration = SyncDeclaration(
        SyncType.MARKETING_LISTS_DATA_OUT,
        frozenset({Platform.DOTDIGITAL}),
        Direction.BOTH,
        prerequisites=(DATA_LABELS_GATE,),
        summary="two-way marketing list sync: MarketingListsDataIn, then MarketingListsDataOut",
    )
    cursor_model = TwoWayCursor

    def __init__(
        self,
        data_in: MarketingListsDataIn | None = None,
        data_out: MarketingListsDataOut | None = None,
    ) -> None:
        self.data_in = data_in or MarketingListsDataIn()
        self.data_out = data_out or MarketingListsDataOut()

    def start(self, run: Run[TwoWayCursor]) -> TwoWayCursor:
        phase = _DataInPhase(run)
        sub = phase.sub(cast(DataInCursor, None))
        cursor = TwoWayCursor(data_in=self.data_in.start(sub))
        phase.audit(sub, AuditStatus.IN_PROGRESS, "")
        return cursor

    def run(self, run: Run[TwoWayCursor]) -> Steps:
        cursor = run.cursor
        if cursor.phase == "in":
            refused = yield from _DataInPhase(run).run(self.data_in)
            if refused is not None:
                return refused
            cursor.phase = "out"
            yield
        if cursor.data_out is None:
            cursor.data_out = self.data_out.start(
                run.child(cast(DataOutCursor, None), run.counts, run.add_detail)
            )
            yield
        sub = run.child(cursor.data_out, run.counts, run.add_detail)

        def share_counts() -> None:
            run.counts = sub.counts

        return (yield from relay(self.data_out.run(sub), share_counts))

    def watermarks(self, cursor: TwoWayCursor) -> list[WatermarkWindow]:
        return [cursor.data_in.window] if cursor.in_completed else []


class _DataInPhase:
    """Runs DataIn inside the two-way run, auditing it as a run of its own."""

    def __init__(self, run: Run[TwoWayCursor]) -> None:
        self.run_ = run
        services = run.services
        self.schedule = services.schedules.get(run.account.account_id, DATA_OUT)
        self.row_key = data_in_row_key(self.schedule.audit_row_key or run.run_id)

    def sub(self, cursor: DataInCursor) -> Run[DataInCursor]:
        counts = self.run_.cursor.in_counts if self.run_.cursor is not None else Counts()
        return self.run_.child(cursor, counts, self._add_detail)

    def run(self, data_in: MarketingListsDataIn) -> Generator[None, None, SyncResult | None]:
        """None once DataIn is done and DataOut may run; else the two-way run's outcome."""
        cursor = self.run_.cursor
        sub = self.sub(cursor.data_in)

        def keep() -> None:
            cursor.in_counts = sub.counts
            self.audit(sub, AuditStatus.IN_PROGRESS, "")

        try:
            result = yield from relay(data_in.run(sub), keep)
        except SyncError as error:
            log.warning("Run %s: MarketingListsDataIn failed: %s", self.run_.run_id, error)
            return self._failed(sub, str(error))
        except Exception:
            log.exception("Run %s: MarketingListsDataIn crashed", self.run_.run_id)
            return self._failed(sub, Messages.INTERNAL)
        # Failures of single records or lists do not stop DataOut: what DataIn could not write
        # is either older than the Dynamics change DataOut pushes, or retried next run.
        cursor.in_completed = True
        self.audit(sub, result.status, result.message, finished=True)
        return None

    def _add_detail(self, detail: AuditDetail) -> None:
        services = self.run_.services
        services.audit.add_detail(self.run_.account.account_id, self.row_key, detail)

    def _failed(self, sub: Run[DataInCursor], message: str) -> SyncResult:
        self.audit(sub, AuditStatus.FAILED, message, finished=True)
        return SyncResult(
            AuditStatus.FAILED,
            f"Marketing list sync didn't push as MarketingListsDataIn failed: {message}"[:1000],
        )

    def audit(
        self, sub: Run[DataInCursor], status: AuditStatus, message: str, *, finished: bool = False
    ) -> None:
        services = self.run_.services
        if finished and self.run_.dry_run:
            message = f"Dry run, nothing written. {message}"[:1000]
        services.audit.write(
            AuditRecord(
                account_id=self.run_.account.account_id,
                row_key=self.row_key,
                run_id=self.run_.run_id,
                sync_type=DATA_IN,
                trigger=self.schedule.run_trigger,
                status=status,
                started=self.schedule.run_started or services.clock(),
                finished=services.clock() if finished else None,
                message=message,
                counts=sub.counts,
            )
        )


DATA_OUT = SyncType.MARKETING_LISTS_DATA_OUT
