"""Timer: once a day, purge audit rows older than the retention period (30 days)."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.pipeline.admin import purge_audit
from shared.runtime import get_runtime

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="0 15 3 * * *", run_on_startup=False)
def audit_purge(timer: func.TimerRequest) -> None:
    removed = purge_audit(get_runtime())
    logging.getLogger(__name__).info("Audit purge removed %d rows", removed)
