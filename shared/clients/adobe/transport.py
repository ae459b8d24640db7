"""The ACS client's transport: one call through the shared retry policy, with the IMS token and
the `X-Api-Key` header, errors read into the product's tree (`errors`).

A 401 fetches a new token once and sends the call again (a token can expire early, e.g. when
the credential's secret is rotated). 429 and 5xx without an engine code are retried (429 waits
what `Retry-After` says); an engine code is a refusal and is never retried. Calls that must
not happen twice (a create, a signal) pass `idempotent=False`: only failures that prove nothing
was done are retried (a refused connection, 429, 503); a lost answer raises `OutcomeUnknown`.
Every href the client follows must lie under the configured base URL (`check_href`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.clients.adobe.auth import ImsTokenProvider
from shared.clients.adobe.errors import (
    AdobeErrorBody,
    DuplicateKey,
    EngineRefusal,
    ForeignHref,
    RecordNotFound,
    read_error,
)
from shared.clients.retry import (
    LOST_ANSWER,
    NOT_PROCESSED_STATUSES,
    RetryPolicy,
    TransientHttpError,
    server_requested_wait,
    status_description,
    unbound,
)
from shared.errors import ApiError, AuthenticationError, OutcomeUnknown
from shared.telemetry.http import platform

USER_AGENT = "dynamics-marketing-sync/0.1"
QueryValue = str | int | bool
_DUPLICATE_CODES = frozenset({"PGS-220000"})


def json_body(response: httpx.Response, operation: str) -> Any:
    """The answer's JSON; an answer without it is the API's fault, said as such."""
    try:
        return response.json()
    except ValueError as error:
        raise ApiError(
            f"Adobe Campaign {operation} answered HTTP {response.status_code} without JSON",
            status=response.status_code,
        ) from error


class AdobeTransport:
    def __init__(
        self, base_url: str, tokens: ImsTokenProvider, *, http: httpx.Client, retry: RetryPolicy
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = urlsplit(self.base_url)
        self.tokens = tokens
        self._http = http
        self._retry = retry

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def check_href(self, href: str) -> str:
        """`href` if it lies under the base URL (same scheme, host and port, path below the
        base path); else ForeignHref, before any request carries the token there."""
        try:
            target = urlsplit(href)
            same_place = (target.scheme, target.hostname, target.port) == (
                self._base.scheme,
                self._base.hostname,
                self._base.port,
            )
        except ValueError:
            same_place = False
        if not same_place or not target.path.startswith(self._base.path.rstrip("/") + "/"):
            raise ForeignHref(
                f"Adobe Campaign handed back a link outside the account's base URL "
                f"{self.base_url}: {href[:200]}; it is not followed"
            )
        return href

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, QueryValue | None] | None = None,
        json: Any = None,
        idempotent: bool = True,
        inspect: Callable[[httpx.Response], None] | None = None,
    ) -> httpx.Response:
        """One call through the retry policy; `inspect` sees an answer before the error
        mapping (and may raise its own error)."""
        self.check_href(url)
        shown = url.removeprefix(self.base_url) or "/"
        operation = f"{method} {shown.split('?', 1)[0]}"
        query = {
            key: ("true" if value is True else "false" if value is False else str(value))
            for key, value in (params or {}).items()
            if value is not None
        }

        def send(token: str) -> httpx.Response:
            headers = {
                "Authorization": f"Bearer {token}",
                "X-Api-Key": self.tokens.client_id,
                "Accept": "application/json",
                "Cache-Control": "no-cache",
                "User-Agent": USER_AGENT,
            }
            try:
                return self._http.request(
                    method,
                    url,
                    params=query or None,
                    json=json,
                    headers=headers,
                    extensions=platform("adobe"),
                )
            except LOST_ANSWER as error:
                if not idempotent:
                    raise OutcomeUnknown(
                        f"Adobe Campaign {operation}: the connection failed after the request "
                        f"was sent ({type(error).__name__}); it may or may not have been done, "
                        "so it is not repeated"
                    ) from error
                raise

        def attempt() -> httpx.Response:
            token = self.tokens.token()
            response = send(token)
            if response.status_code == 401:  # expired or revoked: one new token, once
                response = send(self.tokens.refresh(token))
            if inspect is not None:
                inspect(response)
            self._raise_for_status(response, operation, idempotent=idempotent)
            return unbound(response)

        return self._retry.run("Adobe Campaign", operation, attempt)

    def _raise_for_status(
        self, response: httpx.Response, operation: str, *, idempotent: bool
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        error = read_error(response)
        said = _said(error)
        if status in (401, 403):
            raise AuthenticationError(
                f"Adobe Campaign refused the credential of client id {self.tokens.client_id} "
                f"(HTTP {status}): {said}"
            )
        if status == 429 or (status >= 500 and not error.engine_codes):
            if error.wrong_organization:
                raise ApiError(
                    f"Adobe Campaign {operation} failed (HTTP {status}): {said}; the base URL "
                    f"{self.base_url} names an organization this credential cannot reach",
                    status=status,
                )
            if idempotent or status in NOT_PROCESSED_STATUSES:
                wait = server_requested_wait(response.headers, now=self._retry.clock())
                raise TransientHttpError(
                    f"{status_description(response)}: {said}", status=status, retry_after=wait
                )
            raise OutcomeUnknown(
                f"Adobe Campaign {operation} failed (HTTP {status}): {said}; it may or may not "
                "have been done, so it is not repeated"
            )
        message = f"Adobe Campaign {operation} failed (HTTP {status}): {said}"
        code = error.engine_code or error.gateway_code
        if _DUPLICATE_CODES & set(error.engine_codes) or "duplicate key" in said.lower():
            raise DuplicateKey(message, code=code)
        if status == 404 or "unable to find document" in said.lower():
            raise RecordNotFound(message, code=code)
        if error.engine_codes or status >= 500:
            raise EngineRefusal(message, status=status, code=code)
        raise ApiError(message, status=status, code=code)


def _said(error: AdobeErrorBody) -> str:
    if error.gateway_code and error.gateway_code not in error.message:
        return f"{error.message} [{error.gateway_code}]"
    return error.message
