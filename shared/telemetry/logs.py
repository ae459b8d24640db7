"""Log records made inside a run carry its run id, sync type and account (Application Insights
shows them as custom dimensions; the trace and span ids come from the exporter's handler)."""

from __future__ import annotations

import logging
from typing import Any

from shared.telemetry.tracing import current_run

_installed = False


def correlate_logs() -> None:
    """Wrap the log record factory once: a factory (not a handler filter) reaches every handler,
    the platform's and the exporter's, whichever logger the record came from."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        run = current_run.get()
        if run:
            for key, value in run.items():
                setattr(record, key, value)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
