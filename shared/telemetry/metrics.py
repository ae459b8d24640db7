"""The connector's metrics: runs by sync type and status, records per run, API calls and 429s
per platform, queue lag, webhook answer time (instruments of the global meter provider)."""

from __future__ import annotations

from functools import cache

from opentelemetry import metrics as otel_metrics

METER_NAME = "dynamics-dotdigital-connector"


class _Instruments:
    def __init__(self) -> None:
        meter = otel_metrics.get_meter(METER_NAME)
        self.runs = meter.create_counter(
            "connector.runs", unit="{run}", description="Finished runs"
        )
        self.records = meter.create_histogram(
            "connector.run.records", unit="{record}", description="Records processed per run"
        )
        self.api_calls = meter.create_counter(
            "connector.api.calls", unit="{call}", description="Platform API calls"
        )
        self.throttled = meter.create_counter(
            "connector.api.throttled", unit="{call}", description="API calls answered 429"
        )
        self.queue_lag = meter.create_histogram(
            "connector.queue.lag", unit="s", description="From a message's send to its slice"
        )
        self.webhook_answer = meter.create_histogram(
            "connector.webhook.duration", unit="s", description="Webhook answer time"
        )


@cache
def _instruments() -> _Instruments:
    # Created on first use, after setup chose the meter provider (a proxy meter follows it too).
    return _Instruments()


def reset() -> None:
    """Forget the instruments (tests that install a new meter provider)."""
    _instruments.cache_clear()


def run_finished(sync_type: str, status: str, records: int) -> None:
    attributes = {"sync_type": sync_type, "status": status}
    _instruments().runs.add(1, attributes)
    _instruments().records.record(records, {"sync_type": sync_type})


def api_call(platform: str, *, status: int | None) -> None:
    _instruments().api_calls.add(1, {"platform": platform})
    if status == 429:
        _instruments().throttled.add(1, {"platform": platform})


def queue_lag(seconds: float, sync_type: str) -> None:
    _instruments().queue_lag.record(max(seconds, 0.0), {"sync_type": sync_type})


def webhook_answered(seconds: float, status: int) -> None:
    _instruments().webhook_answer.record(seconds, {"status": status})
