"""One Dataverse Web API call: headers, bearer token, concurrency cap, retries, error mapping.

Every request carries the documented headers (Accept, OData-MaxVersion/OData-Version 4.0,
If-None-Match: null), a bearer token (a 401 refreshes it once per call), and goes through the
shared `RetryPolicy`: 429 waits what `Retry-After` says, 5xx / timeouts / dropped connections
back off with jitter, and after the bounded retries `RetriesExhausted` names the operation.

A per-client semaphore caps the requests in flight (default `DEFAULT_MAX_CONCURRENCY`, well
under the documented 52 concurrent requests per user), held only while a request is on the
wire, never during a retry wait or while a caller processes a page.

Writes that are not safe to resend (a POST that creates a record) are not retried once the
request may have reached the server without an answer: that is `OutcomeUnknown`. An error
response is different: Dataverse runs each operation in a transaction, so an error answer
means nothing was applied and the request can be resent.

Error bodies `{"error":{"code","message"}}` become `ApiError(message, status=, code=)`; 412
becomes `PreconditionFailed` carrying the service's message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.clients.dataverse.auth import TokenProvider
from shared.clients.retry import (
    RetryPolicy,
    TransientHttpError,
    describe_failure,
    server_requested_wait,
    status_description,
    unbound,
)
from shared.errors import ApiError, AuthenticationError, OutcomeUnknown, PreconditionFailed
from shared.telemetry.http import platform

API_PATH = "/api/data/v9.2"
USER_AGENT = "dynamics-marketing-sync/0.1"
ODATA_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
    "User-Agent": USER_AGENT,
}
DOCUMENTED_CONCURRENCY_LIMIT = 52
DEFAULT_MAX_CONCURRENCY = 8
"""Requests in flight per client. The service allows 52 per user (per web server); several
function instances share one application user, so each stays well below it."""

# Failures that happen before any byte of the request left this machine.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def error_details(status: int, reason: str, body: bytes | str) -> tuple[str, str | None]:
    """(message, code) from a Dataverse error body, tolerating non-JSON gateway pages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    fallback = f"HTTP {status} {reason}".rstrip()
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        return (first_line(text)[:300] or fallback), None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or fallback)
        code = error.get("code")
        return message, str(code) if code else None
    return fallback, None


class DataverseApiError(ApiError):
    """An `ApiError` that also keeps the service's own message (without our context)."""

    def __init__(
        self, message: str, *, status: int, code: str | None, service_message: str
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.service_message = service_message


def may_have_been_sent(error: BaseException) -> bool:
    return isinstance(error, httpx.TransportError) and not isinstance(error, _NOT_SENT)


class DataverseTransport:
    """Sends requests for one environment; shared by every part of `DataverseClient`."""

    def __init__(
        self,
        org_url: str,
        tokens: TokenProvider,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        if not 1 <= max_concurrency <= DOCUMENTED_CONCURRENCY_LIMIT:
            raise ValueError(
                f"max_concurrency must be between 1 and {DOCUMENTED_CONCURRENCY_LIMIT}"
            )
        self.org_url = org_url.rstrip("/")
        self.api_url = self.org_url + API_PATH
        self.max_concurrency = max_concurrency
        self.retry = retry
        self._tokens = tokens
        self._http = http
        self._slots = threading.BoundedSemaphore(max_concurrency)
        origin = urlsplit(self.org_url)
        self._origin = (origin.scheme, origin.netloc.lower())

    # URLs -------------------------------------------------------------------------------------

    def url(self, target: str) -> str:
        """An absolute URL for a path relative to the API root, or a link the service gave.

        A link must point at this environment's Web API: the bearer token never leaves it.
        """
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            if (parts.scheme, parts.netloc.lower()) != self._origin or not parts.path.startswith(
                "/api/data/"
            ):
                raise ApiError(
                    f"Dataverse returned a link outside {self.org_url}/api/data/; not following "
                    f"it: {target[:200]}",
                    status=200,
                )
            return target
        return f"{self.api_url}/{target.lstrip('/')}"

    def entity_url(self, relative: str) -> str:
        """`[Org]/api/data/v9.2/<relative>`, what `@odata.id` and `@odata.bind` may carry."""
        return f"{self.api_url}/{relative.lstrip('/')}"

    # Sending ----------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        target: str,
        *,
        operation: str,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
        accept: Callable[[httpx.Response], bool] | None = None,
        on_attempt: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """Send one request through the retry policy; raise for any status >= 400 unless
        `accept(response)` says the caller reads that answer itself. `on_attempt` is called
        before each send (a caller that must know whether its write went out twice counts)."""
        url = self.url(target)
        extra = dict(headers or {})
        body = content
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
            extra.setdefault("Content-Type", "application/json")
        refreshed = False

        def once(token: str) -> httpx.Response:
            with self._slots:
                return self._http.request(
                    method,
                    url,
                    params=params,
                    content=body,
                    headers={**ODATA_HEADERS, **extra, "Authorization": f"Bearer {token}"},
                    extensions=platform("dataverse"),
                )

        def attempt() -> httpx.Response:
            nonlocal refreshed
            if on_attempt is not None:
                on_attempt()
            try:
                response = once(self._tokens.token())
                if response.status_code == 401 and not refreshed:
                    refreshed = True  # once per call: a revoked or expired token gets one refresh
                    response = once(self._tokens.refresh())
            except httpx.TransportError as error:
                if not idempotent and may_have_been_sent(error):
                    raise OutcomeUnknown(
                        f"Dataverse: {operation} got no answer ({describe_failure(error)}); "
                        "it may or may not have been applied, so it was not sent again"
                    ) from error
                raise
            if accept is None or not accept(response):
                self.raise_for_status(response, operation)
            return unbound(response)

        return self.retry.run("Dataverse", operation, attempt)

    def raise_for_status(self, response: httpx.Response, operation: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message, code = error_details(status, response.reason_phrase, response.content)
        if status == 429 or status >= 500:
            wait = server_requested_wait(response.headers, now=self.retry.clock())
            raise TransientHttpError(
                f"{status_description(response)}: {message}", status=status, retry_after=wait
            )
        if status == 401:
            raise AuthenticationError(
                f"Dataverse refused the access token even after a refresh (HTTP 401): {message}"
            )
        if status == 412:
            raise PreconditionFailed(
                f"Dataverse {operation} was refused (HTTP 412): {message}", code=code
            )
        raise DataverseApiError(
            f"Dataverse {operation} failed (HTTP {status}): {message}",
            status=status,
            code=code,
            service_message=message,
        )

    def get_json(
        self,
        target: str,
        *,
        operation: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[Any, httpx.Response]:
        response = self.send("GET", target, operation=operation, headers=headers, params=params)
        return parse_json(response, operation), response


def parse_json(response: httpx.Response, operation: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            f"Dataverse {operation} answered HTTP {response.status_code} without JSON",
            status=response.status_code,
        ) from None
