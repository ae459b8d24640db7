"""Two-way marketing list sync (the schedule of MarketingListsDataOut): MarketingListsDataIn,
then MarketingListsDataOut, so platform changes reach Dynamics before lists are pushed back and
are not overwritten (seed: "it will perform a marketing list data in first").

Neither phase starts when the account's last DataLabels sync failed. The DataIn phase writes
its own audit row (type MarketingListsDataIn, same run id and trigger, details under it); the
run's own row is DataOut's. The cursor is namespaced, `{"phase": "in"|"out", "in": {...},
"in_counts": {...}, "out": {...}}`, so a continuation or a redelivered message resumes in the
phase it stopped in. DataIn failing stops the run before DataOut: pushing then would overwrite
the platform changes DataIn could not bring in.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts, Messages
from shared.errors import SyncError
from shared.storage.schedules_repo import ScheduleRecord
from shared.sync.base import PAUSED, Paused, SyncContext, SyncHandler, SyncResult
from shared.sync.marketing_lists.data_in import DataInRun
from shared.sync.marketing_lists.data_out import MarketingListsDataOutSync
from shared.sync.marketing_lists.gates import data_labels_gate
from shared.sync_types import SyncType

log = logging.getLogger(__name__)

IN, OUT = "in", "out"
DATA_IN = SyncType.MARKETING_LISTS_DATA_IN


def data_in_row_key(run_row_key: str) -> str:
    """The DataIn row sits just after the run's row: same start, listed as the older one."""
    return f"{run_row_key}-{IN}"


class TwoWayMarketingListSync(SyncHandler):
    sync_type = SyncType.MARKETING_LISTS_DATA_OUT

    def run(self, ctx: SyncContext) -> SyncResult | Paused:
        cursor: dict[str, Any] = dict(ctx.cursor)
        if not cursor:
            refused = data_labels_gate(ctx)
            if refused is not None:
                return refused
            cursor = {"phase": IN, IN: {}, "in_counts": Counts().model_dump(), OUT: {}}
        if cursor["phase"] == IN:
            outcome = _DataInPhase(ctx, cursor).run()
            if outcome is not None:
                return outcome
            cursor["phase"] = OUT
            ctx.checkpoint(dict(cursor))
        return self._data_out(ctx, cursor)

    def _data_out(self, ctx: SyncContext, cursor: dict[str, Any]) -> SyncResult | Paused:
        def save(sub: SyncContext) -> None:
            cursor[OUT] = sub.cursor
            ctx.counts = sub.counts
            ctx.checkpoint(dict(cursor))

        sub = SyncContext(
            account=ctx.account,
            sync_type=SyncType.MARKETING_LISTS_DATA_OUT,
            run_id=ctx.run_id,
            cursor=dict(cursor[OUT]),
            counts=ctx.counts,
            services=ctx.services,
            deadline=ctx.deadline,
            save=save,
            add_detail=ctx.add_detail,
        )
        result = MarketingListsDataOutSync().run(sub)
        cursor[OUT] = sub.cursor
        ctx.cursor = dict(cursor)
        ctx.counts = sub.counts
        ctx.details.extend(sub.details)
        return result


class _DataInPhase:
    """Runs DataIn inside the two-way run, auditing it as a run of its own."""

    def __init__(self, ctx: SyncContext, cursor: dict[str, Any]) -> None:
        self.ctx = ctx
        self.cursor = cursor
        self.schedule: ScheduleRecord = ctx.services.schedules.get(
            ctx.account.account_id, ctx.sync_type
        )
        self.row_key = data_in_row_key(self.schedule.audit_row_key or ctx.run_id)

    def run(self) -> SyncResult | Paused | None:
        """None once DataIn is done and DataOut may run; else the two-way run's outcome."""
        sub = SyncContext(
            account=self.ctx.account,
            sync_type=DATA_IN,
            run_id=self.ctx.run_id,
            cursor=dict(self.cursor[IN]),
            counts=Counts.model_validate(self.cursor["in_counts"]),
            services=self.ctx.services,
            deadline=self.ctx.deadline,
            save=self._save,
            add_detail=self._add_detail,
        )
        if not sub.cursor:
            self._audit(sub, AuditStatus.IN_PROGRESS, "")
        try:
            result = DataInRun(sub).run()
        except SyncError as error:
            log.warning("Run %s: MarketingListsDataIn failed: %s", self.ctx.run_id, error)
            return self._failed(sub, str(error))
        except Exception as error:
            from shared.pipeline.worker import LeaseLost  # the worker imports the handlers

            if isinstance(error, LeaseLost):
                raise
            log.exception("Run %s: MarketingListsDataIn crashed", self.ctx.run_id)
            return self._failed(sub, Messages.INTERNAL)
        if isinstance(result, Paused):
            return PAUSED
        # Failures of single records or lists do not stop DataOut: what DataIn could not write
        # is either older than the Dynamics change DataOut pushes, or retried next run.
        self._audit(sub, result.status, result.message, finished=True)
        return None

    def _save(self, sub: SyncContext) -> None:
        self.cursor[IN] = sub.cursor
        self.cursor["in_counts"] = sub.counts.model_dump()
        self.ctx.checkpoint(dict(self.cursor))
        self._audit(sub, AuditStatus.IN_PROGRESS, "")

    def _add_detail(self, detail: AuditDetail) -> None:
        self.ctx.services.audit.add_detail(self.ctx.account.account_id, self.row_key, detail)

    def _failed(self, sub: SyncContext, message: str) -> SyncResult:
        self._audit(sub, AuditStatus.FAILED, message, finished=True)
        return SyncResult(
            AuditStatus.FAILED,
            f"Marketing list sync didn't push as MarketingListsDataIn failed: {message}"[:1000],
        )

    def _audit(
        self, sub: SyncContext, status: AuditStatus, message: str, *, finished: bool = False
    ) -> None:
        services = self.ctx.services
        started = self.schedule.run_started or services.clock()
        services.audit.write(
            AuditRecord(
                account_id=self.ctx.account.account_id,
                row_key=self.row_key,
                run_id=self.ctx.run_id,
                sync_type=DATA_IN,
                trigger=self.schedule.run_trigger,
                status=status,
                started=started,
                finished=services.clock() if finished else None,
                message=message,
                counts=sub.counts,
            )
        )
