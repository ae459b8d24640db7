"""Runs one slice of a sync type: prerequisites, cursor, units of work, checkpoints, pause,
watermarks and dry runs, in one place for every type.

The worker (`shared.pipeline.worker`) claims the run and writes the audit row; it calls
`run_slice` with the saved checkpoint and a `save` callback that persists the cursor and the
counts together (and renews the lease, raising if it was lost). `run_slice` returns the run's
`SyncResult`, or `Paused` when the slice's time ran out: at a checkpoint, or in a wait that
would have crossed the deadline (`OutOfTime`: every wait inside the slice is bounded by it,
see `shared.deadline`). Work after the last checkpoint is then redone by the next slice, which
every sync type is written to allow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from shared import deadline
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditStatus, Counts
from shared.deadline import OutOfTime
from shared.engine.cursor import Cursor, dump_cursor, load_cursor
from shared.engine.dry_run import DryRunServices, WriteRecorder
from shared.engine.template import Run, SyncResult, SyncTypeTemplate
from shared.engine.watermark import Watermarks
from shared.runtime import Runtime

DRY_RUN_KEY = "dry_run"


@dataclass(frozen=True)
class Paused:
    """The slice stopped to stay inside the function's time budget. `waiting` says which wait
    would have crossed the deadline (empty: the slice paused at a checkpoint); `polling` that
    it was a wait for a platform job, `seconds` how long."""

    waiting: str = ""
    polling: bool = False
    seconds: float = 0.0


PAUSED = Paused()

Save = Callable[[dict[str, Any], Counts], None]


@dataclass
class Slice:
    sync_type: SyncTypeTemplate[Any]
    services: Runtime
    account: EmailAccount
    run_id: str
    dry_run: bool
    budget_seconds: float
    save: Save
    add_detail: Callable[[AuditDetail], None]
    counts: Counts | None = None  # the run's counts when the slice ended (saved or not)
    trigger: str = ""

    def run(self, saved: dict[str, Any], counts: Counts) -> SyncResult | Paused:
        recorder = WriteRecorder.load(saved.get(DRY_RUN_KEY)) if self.dry_run else None
        services = DryRunServices(self.services, recorder) if recorder else self.services
        run: Run[Any] = Run(
            account=self.account,
            run_id=self.run_id,
            cursor=cast(Cursor, None),
            counts=counts,
            services=services,
            dry_run=self.dry_run,
            deadline=time.monotonic() + self.budget_seconds,
            add_detail=self.add_detail,
            trigger=self.trigger,
        )
        self.counts = counts
        try:
            with deadline.until(run.deadline):
                return self._run(run, saved, recorder)
        except OutOfTime as waiting:
            return Paused(str(waiting), waiting.polling, waiting.seconds)
        finally:
            self.counts = run.counts

    def _run(
        self, run: Run[Any], saved: dict[str, Any], recorder: WriteRecorder | None
    ) -> SyncResult | Paused:
        template = self.sync_type
        if not saved:
            for prerequisite in template.declaration.prerequisites:
                refusal = prerequisite.refusal(self.services, self.account)
                if refusal:
                    return SyncResult(AuditStatus.FAILED, refusal)
            run.cursor = template.start(run)
            self._save(run, recorder)
        else:
            run.cursor = load_cursor(template.cursor_model, saved)

        steps = template.run(run)
        if isinstance(steps, SyncResult):
            return self._complete(template, run, steps, recorder)
        try:
            while True:
                next(steps)
                self._save(run, recorder)
                pausable, run.no_pause = not run.no_pause, False
                if pausable and run.out_of_time():
                    return PAUSED
        except StopIteration as done:
            result = cast(SyncResult, done.value)
        finally:
            steps.close()
        return self._complete(template, run, result, recorder)

    def _complete(
        self,
        template: SyncTypeTemplate[Any],
        run: Run[Any],
        result: SyncResult,
        recorder: WriteRecorder | None,
    ) -> SyncResult:
        if recorder is not None:
            return self._dry_run_result(result, recorder)
        watermarks = Watermarks(self.services.state, self.account.account_id)
        for window in template.watermarks(run.cursor):
            watermarks.commit(window, self.services.clock())
        return result

    def _save(self, run: Run[Any], recorder: WriteRecorder | None) -> None:
        saved = dump_cursor(run.cursor)
        if recorder is not None:
            saved[DRY_RUN_KEY] = recorder.dump()
        self.save(saved, run.counts)

    def _dry_run_result(self, result: SyncResult, recorder: WriteRecorder) -> SyncResult:
        for detail in recorder.details():
            self.add_detail(detail)
        message = f"Dry run, nothing written ({recorder.summary()}). {result.message}"
        return SyncResult(result.status, message[:1000])
