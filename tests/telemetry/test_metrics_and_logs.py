"""The connector's metrics (in-memory reader) and run-id log correlation, from a real run
through the local queue against the Dotdigital sandbox, and a real webhook post."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.pipeline.webhook_intake import WebhookRequest, receive
from shared.runtime import Runtime
from shared.sync_types import SyncType
from shared.telemetry.logs import correlate_logs
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import run_scheduled


def _points(reader: InMemoryMetricReader, name: str) -> dict[frozenset[tuple[str, object]], float]:
    """A metric's points by attributes: a counter's value, a histogram's count."""
    found: dict[frozenset[tuple[str, object]], float] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    key = frozenset((point.attributes or {}).items())
                    if isinstance(point, HistogramDataPoint):
                        found[key] = point.count
                    elif isinstance(point, NumberDataPoint):
                        found[key] = point.value
    return found


def _at(reader: InMemoryMetricReader, name: str, **attributes: object) -> float:
    return _points(reader, name).get(frozenset(attributes.items()), 0)


def test_a_run_counts_itself_its_records_its_api_calls_and_429s_and_its_queue_lag(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dotdigital_sandbox: DotdigitalSandbox, metric_reader: InMemoryMetricReader,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    labels = SyncType.DATA_LABELS.value
    before = {
        "runs": _at(metric_reader, "connector.runs", sync_type=labels, status="Completed"),
        "records": _at(metric_reader, "connector.run.records", sync_type=labels),
        "calls": _at(metric_reader, "connector.api.calls", platform="dotdigital"),
        "throttled": _at(metric_reader, "connector.api.throttled", platform="dotdigital"),
        "lag": _at(metric_reader, "connector.queue.lag", sync_type=labels),
    }
    dotdigital_sandbox.state.throttle_next(1)
    correlate_logs()
    caplog.set_level(logging.INFO)

    audit = run_scheduled(sync_runtime, host, clock, "acme", SyncType.DATA_LABELS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    after = {
        "runs": _at(metric_reader, "connector.runs", sync_type=labels, status="Completed"),
        "records": _at(metric_reader, "connector.run.records", sync_type=labels),
        "calls": _at(metric_reader, "connector.api.calls", platform="dotdigital"),
        "throttled": _at(metric_reader, "connector.api.throttled", platform="dotdigital"),
        "lag": _at(metric_reader, "connector.queue.lag", sync_type=labels),
    }
    assert after["runs"] - before["runs"] == 1
    assert after["records"] - before["records"] == 1  # one run's record count
    assert after["throttled"] - before["throttled"] == 1
    assert after["calls"] - before["calls"] >= 2  # the refused call and its retry at least
    assert after["lag"] - before["lag"] == 1  # one slice
    # The run's log lines (the retry after the 429, among them) name it.
    in_run = [r for r in caplog.records if getattr(r, "run_id", None) == audit.run_id]
    assert in_run, [r.getMessage() for r in caplog.records]
    assert {getattr(r, "account_id", None) for r in in_run} == {"acme"}


def test_a_webhook_post_records_its_answer_time_by_status(
    sync_runtime: Runtime, metric_reader: InMemoryMetricReader
) -> None:
    before = sum(_points(metric_reader, "connector.webhook.duration").values())
    answer = receive(sync_runtime, WebhookRequest("POST", b"{}", {}, {}))
    points = _points(metric_reader, "connector.webhook.duration")
    assert sum(points.values()) - before == 1
    assert _at(metric_reader, "connector.webhook.duration", status=answer.status) >= 1
