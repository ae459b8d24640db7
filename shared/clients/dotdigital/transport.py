"""The Dotdigital client's transport: one call through the shared retry policy.

Auth is HTTP Basic with an API user. 401 becomes `AuthenticationError`; 429, 5xx, timeouts,
dropped connections and the legacy `ERROR_APIUSAGE_EXCEEDED` are retried (429 waits what
`x-ratelimit-reset` says); any other 4xx becomes `ApiError` with the v2 or v3 error code.

Calls that must not happen twice (a campaign send, a program enrolment) pass
`idempotent=False`: only failures that prove nothing was done are retried (a refused
connection, 429, 503, the usage limit); a lost answer raises `OutcomeUnknown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from shared import deadline
from shared.clients.dotdigital.errors import RATE_LIMIT_CODES, read_error
from shared.clients.dotdigital.routes import Route
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


def json_body(response: httpx.Response, route: object) -> Any:
    """The answer's JSON; an answer without it is the API's fault, said as such."""
    try:
        return response.json()
    except ValueError as error:
        raise ApiError(
            f"Dotdigital {route} answered HTTP {response.status_code} without JSON",
            status=response.status_code,
        ) from error


class DotdigitalTransport:
    def __init__(
        self,
        api_endpoint: str,
        api_user: str,
        password: SecretStr,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
        account_properties: dict[str, str] | None = None,
    ) -> None:
        self.api_endpoint = api_endpoint.rstrip("/")
        self.api_user = api_user
        self._auth = httpx.BasicAuth(api_user, password.get_secret_value())
        self._password = password
        self._http = http
        self._retry = retry
        self.account_properties: dict[str, str] = dict(account_properties or {})

    def _call(
        self,
        route: Route,
        *,
        path: Mapping[str, object] | None = None,
        params: Mapping[str, QueryValue | None] | None = None,
        json: Any = None,
        content: bytes | None = None,
        outcome_unknown: list[bool] | None = None,
        idempotent: bool = True,
        wait_on_rate_limit: bool = True,
    ) -> httpx.Response:
        """One call through the retry policy. `outcome_unknown` (if given) is set to [True]
        when an earlier attempt may have reached the server without us seeing the answer.
        `wait_on_rate_limit=False`: a rate-limited answer is an ApiError at once (a limit that
        lasts an hour, the program enrolments', is not waited out inside a run)."""
        url_path = route.path(**(path or {}))
        operation = f"{route.method} {url_path}"
        query = {
            key: ("true" if value is True else "false" if value is False else str(value))
            for key, value in (params or {}).items()
            if value is not None
        }
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if content is not None:
            headers["Content-Type"] = "application/json"

        def attempt() -> httpx.Response:
            try:
                response = self._http.request(
                    route.method,
                    self.api_endpoint + url_path,
                    params=query or None,
                    json=json,
                    content=content,
                    auth=self._auth,
                    extensions=platform("dotdigital"),
                    headers=headers,
                )
            except LOST_ANSWER as error:
                if outcome_unknown is not None:
                    outcome_unknown[:] = [True]
                if not idempotent:
                    raise OutcomeUnknown(
                        f"Dotdigital {operation}: the connection failed after the request was "
                        f"sent ({type(error).__name__}); it may or may not have been done, so it "
                        "is not repeated"
                    ) from error
                raise
            if response.status_code == 429 and not wait_on_rate_limit:
                refusal = read_error(response)
                raise ApiError(f"Dotdigital {operation} was refused (HTTP 429): {refusal.message}",
                               status=429, code=refusal.code)  # fmt: skip
            self._raise_for_status(response, operation, idempotent=idempotent)
            return unbound(response)  # read already: import results are megabytes

        return self._retry.run("Dotdigital", operation, attempt)

    def _raise_for_status(
        self, response: httpx.Response, operation: str, *, idempotent: bool
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        error = read_error(response)
        rate_limited = status == 429 or error.code in RATE_LIMIT_CODES
        if rate_limited or status >= 500:
            if idempotent or rate_limited or status in NOT_PROCESSED_STATUSES:
                wait = server_requested_wait(response.headers, now=self._retry.clock())
                raise TransientHttpError(
                    f"{status_description(response)}: {error.message}",
                    status=status,
                    retry_after=wait,
                )
            raise OutcomeUnknown(
                f"Dotdigital {operation} failed (HTTP {status}): {error.message}; it may or "
                "may not have been done, so it is not repeated"
            )
        if status == 401:
            raise AuthenticationError(
                f"Dotdigital refused the API user {self.api_user} (HTTP 401): {error.message}"
            )
        raise ApiError(
            f"Dotdigital {operation} failed (HTTP {status}): {error.message}",
            status=status,
            code=error.code,
        )

    def _get(
        self,
        route: Route,
        *,
        path: Mapping[str, object] | None = None,
        params: Mapping[str, QueryValue | None] | None = None,
    ) -> Any:
        """GET and decode the JSON body."""
        return json_body(self._call(route, path=path, params=params), route)

    # Time, for polling jobs: the retry policy's clock and sleep (injectable in tests). ----------

    def _now(self) -> float:
        return self._retry.clock()

    def _sleep(self, seconds: float, what: str) -> None:
        """Wait between polls of a job, unless that would cross the running slice's deadline
        (then OutOfTime: the caller's job id must be in the run's checkpoint already)."""
        deadline.check_wait(seconds, what, polling=True)
        self._retry.sleep(seconds)
