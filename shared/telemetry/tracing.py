"""Spans of the pipeline: one trace per run, from its tick, webhook or admin request through the
queue (W3C `traceparent` in the message) to every worker slice."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_NAME = "dynamics-dotdigital-connector"
_PROPAGATOR = TraceContextTextMapPropagator()
# The run a worker is in, for log records (shared.telemetry.logs) and API call spans.
current_run: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "current_run", default=None
)


def tracer() -> trace.Tracer:
    # Looked up on each use: the provider is set once at start, after modules are imported.
    return trace.get_tracer(TRACER_NAME)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, for a queue message (None outside any trace)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL, **attributes: Any) -> Iterator[Span]:
    """A span of a trace's entry point (tick, webhook request, admin request) or a step of it."""
    with tracer().start_as_current_span(name, kind=kind, attributes=attributes) as current:
        yield current


@contextmanager
def slice_span(traceparent: str | None, attributes: dict[str, Any]) -> Iterator[Span]:
    """A worker slice, the child of the span that sent its message: the tick, the request, or
    the previous slice of the run (its follow-up message carries that slice's context)."""
    parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
    token = otel_context.attach(parent) if parent is not None else None
    try:
        with tracer().start_as_current_span(
            "sync slice", kind=SpanKind.CONSUMER, attributes=attributes
        ) as current:
            yield current
    finally:
        if token is not None:
            otel_context.detach(token)


def describe_slice(fields: dict[str, str], *, sequence: int) -> None:
    """The run's id, sync type, account, trigger and message sequence on the current span."""
    current = trace.get_current_span()
    for key, value in fields.items():
        current.set_attribute(key, value)
    current.set_attribute("sequence", sequence)


@contextmanager
def in_run(fields: dict[str, str]) -> Iterator[None]:
    """Log records and API call spans inside carry the run's id, sync type and account."""
    token = current_run.set(fields)
    try:
        yield
    finally:
        current_run.reset(token)
