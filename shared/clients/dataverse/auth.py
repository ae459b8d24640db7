"""Entra ID app-only tokens for Dataverse (msal client credentials).

`MsalTokenProvider` builds one msal application per environment on first use (its
construction runs OIDC discovery), lets msal cache the token, and only asks Entra ID again near
expiry. `refresh()` drops the cached token (after a 401) and fetches a new one.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msal  # type: ignore[import-untyped]
from pydantic import SecretStr

from shared.clients.retry import TransientHttpError, status_description
from shared.errors import AuthenticationError

# Entra ID hosts msal knows; any other authority (the sandbox, a proxy) skips its validation.
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)


class TokenProvider(Protocol):
    def token(self) -> str: ...

    def refresh(self) -> str: ...


class _MsalHttpClient:
    """The small requests-like surface msal calls (`get`/`post`), served by an httpx.Client."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def get(
        self,
        url: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._http.get(url, params=params, headers=headers)

    def post(
        self,
        url: str,
        params: dict[str, str] | None = None,
        data: dict[str, str] | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        if isinstance(data, str | bytes):
            return self._http.post(url, params=params, content=data, headers=headers)
        return self._http.post(url, params=params, data=data, headers=headers)

    def close(self) -> None:
        """The httpx.Client belongs to the caller; msal must not close it."""


_AADSTS = re.compile(r"AADSTS\d+: [^\\\r\n\"]*")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _aadsts_reason(error: BaseException) -> str:
    """The AADSTS line from msal's error (or the errors it wraps), else its first line."""
    seen: BaseException | None = error
    while seen is not None:
        match = _AADSTS.search(str(seen))
        if match:
            return match.group(0).strip()
        seen = seen.__cause__ or seen.__context__
    return _first_line(str(error))


class MsalTokenProvider:
    """Client-credentials tokens for one Dataverse environment, cached by msal.

    The msal application is built on first use (its construction runs OIDC discovery), so
    creating a provider does no I/O.
    """

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr,
        *,
        org_url: str,
        authority_host: str = "https://login.microsoftonline.com",
        http_client: httpx.Client,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._secret = client_secret
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self.scope = f"{org_url.rstrip('/')}/.default"
        self._http = _MsalHttpClient(http_client)
        self._app: Any = None
        self._lock = threading.Lock()

    def _application(self) -> Any:
        if self._app is None:
            host = urlsplit(self.authority).hostname or ""
            known = host in MICROSOFT_AUTHORITY_HOSTS
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._secret.get_secret_value(),
                    authority=self.authority,
                    http_client=self._http,
                    validate_authority=known,
                    instance_discovery=None if known else False,
                )
            except ValueError as error:  # msal's answer to a refused OIDC discovery
                raise AuthenticationError(
                    f"Entra ID: OIDC discovery failed for tenant {self.tenant_id} at "
                    f"{self.authority}: {_aadsts_reason(error)}"
                ) from None
        return self._app

    def _acquire(self) -> str:
        try:
            result = self._application().acquire_token_for_client(scopes=[self.scope])
        except httpx.HTTPStatusError as error:  # msal raises for 5xx from the token endpoint
            raise TransientHttpError(
                f"Entra ID token endpoint answered {status_description(error.response)}",
                status=error.response.status_code,
            ) from None
        if not isinstance(result, dict):
            raise AuthenticationError("Entra ID returned no token response")
        token = result.get("access_token")
        if isinstance(token, str) and token:
            return token
        description = _first_line(str(result.get("error_description") or result.get("error")))
        raise AuthenticationError(
            f"Entra ID refused the client credentials of app {self.client_id} for "
            f"{self.scope}: {description}"
        )

    def token(self) -> str:
        """A valid access token (from msal's cache unless it is close to expiry)."""
        with self._lock:
            return self._acquire()

    def refresh(self) -> str:
        """Drop the cached token(s) for this scope and fetch a new one."""
        with self._lock:
            app = self._application()
            cache = app.token_cache
            kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
            for entry in list(cache.search(kind)):  # this app only ever holds our scope
                cache.remove_at(entry)
            return self._acquire()


class AzureCliTokenProvider:
    """Tokens from the Azure CLI's signed-in identity (`az login`, or azure/login in the deploy
    workflow): an operator or the provisioning job acts with its own Dataverse rights, and no
    client secret leaves Key Vault. Kept until five minutes before expiry."""

    EARLY_SECONDS = 300

    def __init__(self, org_url: str, credential: Any = None) -> None:
        from azure.identity import AzureCliCredential

        self.scope = f"{org_url.rstrip('/')}/.default"
        self._credential = credential if credential is not None else AzureCliCredential()
        self._token = ""
        self._expires_on = 0.0
        self._lock = threading.Lock()

    def _acquire(self) -> str:
        from azure.core.exceptions import ClientAuthenticationError

        try:
            issued = self._credential.get_token(self.scope)
        except ClientAuthenticationError as error:  # CredentialUnavailableError included
            raise AuthenticationError(
                f"The Azure CLI gave no token for {self.scope}: {_first_line(str(error))}. "
                "Sign in with `az login` as an identity that is a user (or application user) "
                "of this Dataverse environment, or set DATAVERSE_CREDENTIAL=ClientSecret"
            ) from None
        self._token, self._expires_on = str(issued.token), float(issued.expires_on)
        return self._token

    def token(self) -> str:
        with self._lock:
            if self._token and time.time() < self._expires_on - self.EARLY_SECONDS:
                return self._token
            return self._acquire()

    def refresh(self) -> str:
        with self._lock:
            return self._acquire()
