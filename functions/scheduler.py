"""Timer: every minute, enqueue the runs that are due."""

from __future__ import annotations

import azure.functions as func

from shared.pipeline.scheduler import Scheduler
from shared.runtime import get_runtime

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="0 */1 * * * *", run_on_startup=False)
def scheduler_tick(timer: func.TimerRequest) -> None:
    Scheduler(get_runtime()).tick()
