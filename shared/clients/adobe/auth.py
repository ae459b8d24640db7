"""Adobe IMS OAuth server-to-server tokens (client credentials; there is no JWT and no refresh
token): `POST {ims}/ims/token/v3` with a form body, the token kept until shortly before its
`expires_in` (a day) runs out, and fetched again on demand after a 401."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from shared.clients.retry import RetryPolicy, TransientHttpError, status_description, unbound
from shared.errors import ApiError, AuthenticationError
from shared.telemetry.http import platform

TOKEN_PATH = "/ims/token/v3"
# Fetch a new token this long before the old one expires (clocks drift; a call takes time).
EXPIRY_MARGIN_SECONDS = 300.0


class ImsTokenProvider:
    """One credential's access token, cached; thread-safe (workers share a client)."""

    def __init__(
        self,
        ims_url: str,
        client_id: str,
        client_secret: SecretStr,
        scopes: str,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.token_url = ims_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = scopes
        self._http = http
        self._retry = retry
        self._clock = clock or retry.clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetched = 0  # tokens fetched so far (tests and benchmarks read it)

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def refresh(self, stale: str | None = None) -> str:
        """A new token, unless another thread already replaced `stale` meanwhile."""
        with self._lock:
            if self._token is None or self._token == stale:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
            "scope": self.scopes,
        }

        def attempt() -> httpx.Response:
            response = self._http.post(self.token_url, data=form, extensions=platform("adobe"))
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientHttpError(
                    f"Adobe IMS answered {status_description(response)}",
                    status=response.status_code,
                )
            return unbound(response)

        started = self._clock()
        response = self._retry.run("Adobe IMS", f"POST {TOKEN_PATH}", attempt)
        if response.status_code >= 400:
            raise AuthenticationError(
                f"Adobe IMS refused the OAuth server-to-server credential of client id "
                f"{self.client_id} (HTTP {response.status_code}): {_reason(response)}. Check the "
                "client id, the client secret setting and the scopes in the Adobe Developer "
                "Console."
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 0))
        except (ValueError, KeyError, TypeError) as error:
            raise ApiError(
                "Adobe IMS answered without an access token", status=response.status_code
            ) from error
        self._token = token
        # Counted from before the request, so the margin also covers the request's own time.
        self._expires_at = started + max(lifetime - EXPIRY_MARGIN_SECONDS, lifetime / 2)
        self.fetched += 1


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or status_description(response)
    if isinstance(body, dict):
        parts = [str(body.get(k)) for k in ("error", "error_description") if body.get(k)]
        if parts:
            return ": ".join(parts)
    return status_description(response)
