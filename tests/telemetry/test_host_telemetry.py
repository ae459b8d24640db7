"""The Functions host and the app send one set of telemetry, in one trace: host.json puts the
host in OpenTelemetry mode, the Bicep tells the Python worker that the app exports its own (so
the host stops relaying the app's log lines, which would otherwise arrive twice), and the app's
entry spans join the invocation's trace the worker makes current."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pycep import BicepParser

from shared.accounts import EmailAccount
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.infra.test_bicep import MAIN, app_settings

ROOT = Path(__file__).resolve().parents[2]
HOST_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOST_SPAN = "00f067aa0ba902b7"


def test_host_json_puts_the_host_in_opentelemetry_mode() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["telemetryMode"] == "OpenTelemetry"
    # Application Insights SDK settings (sampling) do nothing in that mode: none left to mislead.
    assert "applicationInsights" not in host.get("logging", {})


def test_the_worker_is_told_the_app_exports_its_own_telemetry() -> None:
    settings = app_settings(BicepParser().parse(file_path=MAIN))
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings  # the host's and the app's
    assert settings["PYTHON_ENABLE_OPENTELEMETRY"] == "true"
    # This one would make the worker configure Azure Monitor again, beside shared/telemetry.
    assert "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY" not in settings


def test_an_entry_span_joins_the_trace_of_the_invocation_the_worker_made_current(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, spans: InMemorySpanExporter
) -> None:
    # What the worker does before each invocation with PYTHON_ENABLE_OPENTELEMETRY: attach the
    # host's invocation context (its traceparent) as the current context.
    carrier = {"traceparent": f"00-{HOST_TRACE}-{HOST_SPAN}-01"}
    token = otel_context.attach(TraceContextTextMapPropagator().extract(carrier))
    try:
        assert admin.sync_now(sync_runtime, "acme", SyncType.DATA_LABELS).accepted
    finally:
        otel_context.detach(token)
    host.drain()

    every = list(spans.get_finished_spans())
    [request] = [s for s in every if s.name == "sync now"]
    [work] = [s for s in every if s.name == "sync slice"]
    assert request.parent is not None and f"{request.parent.span_id:016x}" == HOST_SPAN
    assert {f"{s.context.trace_id:032x}" for s in (request, work)} == {HOST_TRACE}
