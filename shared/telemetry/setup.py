"""Choose where telemetry goes, once at start: Azure Monitor when
APPLICATIONINSIGHTS_CONNECTION_STRING is set, else TELEMETRY_EXPORTER=console|otlp, else off."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from shared.errors import ConfigurationError
from shared.telemetry.logs import correlate_logs

log = logging.getLogger(__name__)
SERVICE_NAME = "dynamics-dotdigital-connector"
EXPORTERS = ("console", "otlp", "none")


def configure(environ: Mapping[str, str] | None = None) -> str:
    """Install the providers; returns what was chosen ("azure-monitor", "console", "otlp" or
    "none"). Without providers the API's no-op tracer and meter cost next to nothing."""
    env = os.environ if environ is None else environ
    correlate_logs()
    if env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        from azure.monitor.opentelemetry import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            configure_azure_monitor,
        )

        # Reads the connection string from the environment; logs, traces and metrics.
        configure_azure_monitor()
        return "azure-monitor"
    exporter = env.get("TELEMETRY_EXPORTER", "none").strip().lower() or "none"
    if exporter not in EXPORTERS:
        raise ConfigurationError(
            f"TELEMETRY_EXPORTER is '{exporter}': use one of {', '.join(EXPORTERS)}."
        )
    if exporter != "none":
        _configure_sdk(exporter)
    return exporter


def _configure_sdk(exporter: str) -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    span_exporter: SpanExporter
    metric_exporter: MetricExporter
    if exporter == "otlp":
        try:  # optional: only a local collector needs it (OTEL_EXPORTER_OTLP_ENDPOINT)
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter,
            )
        except ImportError as missing:
            raise ConfigurationError(
                "TELEMETRY_EXPORTER=otlp needs the package opentelemetry-exporter-otlp-proto-http "
                "(pip install it into the app's environment), or use console."
            ) from missing
        span_exporter, metric_exporter = OTLPSpanExporter(), OTLPMetricExporter()
    else:
        span_exporter, metric_exporter = ConsoleSpanExporter(), ConsoleMetricExporter()
    resource = Resource.create({"service.name": SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    reader = PeriodicExportingMetricReader(metric_exporter)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    log.info("Telemetry: %s exporter", exporter)
