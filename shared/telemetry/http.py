"""A span and the API call metrics for each platform API call (an httpx transport wrapper: no
instrumentation package, and no span per row since a call carries a page or a batch)."""

from __future__ import annotations

import httpx
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.telemetry import metrics
from shared.telemetry.tracing import current_run, tracer

# Set by each client on its requests (httpx passes request extensions to the transport).
PLATFORM = "connector.platform"


def platform(name: str) -> dict[str, str]:
    """The request extensions that name the platform an API call goes to."""
    return {PLATFORM: name}


class TracedTransport(httpx.BaseTransport):
    """Wraps the real transport: one client span per request, with its method, host, path
    (no query: it can hold record values) and status; counts calls and 429s per platform."""

    def __init__(self, inner: httpx.BaseTransport, *, default_platform: str = "unknown") -> None:
        self._inner = inner
        self._default = default_platform

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = str(request.extensions.get(PLATFORM, self._default))
        attributes: dict[str, str | int] = {
            "http.request.method": request.method,
            "server.address": request.url.host,
            "url.path": request.url.path,
            "connector.platform": name,
        }
        run = current_run.get()
        if run:
            attributes["connector.run_id"] = run.get("run_id", "")
        with tracer().start_as_current_span(
            f"{request.method} {name}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            try:
                response = self._inner.handle_request(request)
            except Exception as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                metrics.api_call(name, status=None)
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            metrics.api_call(name, status=response.status_code)
            return response

    def close(self) -> None:
        self._inner.close()


def traced_client(
    *, timeout: float, verify: object, default_platform: str = "unknown"
) -> httpx.Client:
    """An httpx.Client whose calls are traced (the clients' own construction, otherwise)."""
    inner = httpx.HTTPTransport(verify=verify)  # type: ignore[arg-type]
    return httpx.Client(
        timeout=timeout,
        verify=verify,  # type: ignore[arg-type]
        transport=TracedTransport(inner, default_platform=default_platform),
    )
