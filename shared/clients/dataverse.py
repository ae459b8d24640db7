"""Dataverse Web API client (app-only auth through Entra ID with msal).

Every request carries the documented headers (Accept, OData-MaxVersion/OData-Version 4.0),
a bearer token from `MsalTokenProvider` (msal caches it and only asks Entra ID again near
expiry), and goes through the shared `RetryPolicy`. A 401 refreshes the token once and
resends; a second 401 is an `AuthenticationError`. Error bodies `{"error":{"code","message"}}`
become `ApiError(message, status=, code=)`.
"""

from __future__ import annotations

import re
import ssl
import threading
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msal  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, SecretStr

from shared.clients.retry import (
    RetryPolicy,
    TransientHttpError,
    server_requested_wait,
    status_description,
)
from shared.errors import ApiError, AuthenticationError, ConfigurationError
from shared.settings import Settings

API_PATH = "/api/data/v9.2"
USER_AGENT = "dynamics-marketing-sync/0.1"
ODATA_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
    "User-Agent": USER_AGENT,
}
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
_LOGICAL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TokenProvider(Protocol):
    def token(self) -> str: ...

    def refresh(self) -> str: ...


class CrmAttribute(BaseModel):
    model_config = ConfigDict(frozen=True)

    entity: str
    logical_name: str
    display_name: str
    attribute_type: str


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


def _error_message(response: httpx.Response) -> tuple[str, str | None]:
    """(message, code) from a Dataverse error body, tolerating non-JSON gateway pages."""
    try:
        body = response.json()
    except ValueError:
        return (_first_line(response.text)[:300] or status_description(response)), None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or status_description(response))
        code = error.get("code")
        return message, str(code) if code else None
    return status_description(response), None


def _display_name(label: Any, fallback: str) -> str:
    if isinstance(label, dict):
        user = label.get("UserLocalizedLabel")
        if isinstance(user, dict) and user.get("Label"):
            return str(user["Label"])
        for localized in label.get("LocalizedLabels") or []:
            if isinstance(localized, dict) and localized.get("Label"):
                return str(localized["Label"])
    return fallback


class DataverseClient:
    def __init__(
        self,
        org_url: str,
        tokens: TokenProvider,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
        owns_http: bool = False,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.api_url = self.org_url + API_PATH
        self._tokens = tokens
        self._http = http
        self._retry = retry
        self._owns_http = owns_http

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
    ) -> DataverseClient:
        """A client for the environment in the DATAVERSE_* settings (HTTP_CA_BUNDLE honoured)."""
        settings.require(
            "dataverse_url", "dataverse_tenant_id", "dataverse_client_id", "dataverse_client_secret"
        )
        url, tenant_id = settings.dataverse_url, settings.dataverse_tenant_id
        client_id, secret = settings.dataverse_client_id, settings.dataverse_client_secret
        if not (url and tenant_id and client_id and secret):  # require() raised already
            raise ConfigurationError("Dataverse settings are incomplete")
        owns_http = http is None
        if http is None:
            verify: ssl.SSLContext | bool = True
            if settings.http_ca_bundle is not None:
                verify = ssl.create_default_context(cafile=str(settings.http_ca_bundle))
            http = httpx.Client(timeout=settings.http_timeout_seconds, verify=verify)
        tokens = MsalTokenProvider(
            tenant_id,
            client_id,
            secret,
            org_url=url,
            authority_host=settings.dataverse_authority_host,
            http_client=http,
        )
        return cls(
            url,
            tokens,
            http=http,
            retry=retry or RetryPolicy.from_settings(settings),
            owns_http=owns_http,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Transport --------------------------------------------------------------------------------

    def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        operation = f"GET {path}"
        refreshed = False

        def send(token: str) -> httpx.Response:
            return self._http.get(
                self.api_url + "/" + path,
                params=params,
                headers={**ODATA_HEADERS, "Authorization": f"Bearer {token}"},
            )

        def attempt() -> httpx.Response:
            nonlocal refreshed
            response = send(self._tokens.token())
            if response.status_code == 401 and not refreshed:
                refreshed = True  # once per call: a revoked or expired token gets one refresh
                response = send(self._tokens.refresh())
            self._raise_for_status(response)
            return response

        response = self._retry.run("Dataverse", operation, attempt)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"Dataverse {operation} answered HTTP {response.status_code} without JSON",
                status=response.status_code,
            ) from None

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        message, code = _error_message(response)
        if status == 429 or status >= 500:
            wait = server_requested_wait(response.headers, now=self._retry.clock())
            raise TransientHttpError(
                f"{status_description(response)}: {message}", status=status, retry_after=wait
            )
        if status == 401:
            raise AuthenticationError(
                f"Dataverse refused the access token even after a refresh (HTTP 401): {message}"
            )
        method, path = response.request.method, response.request.url.path
        raise ApiError(
            f"Dataverse {method} {path} failed (HTTP {status}): {message}",
            status=status,
            code=code,
        )

    # Metadata -----------------------------------------------------------------------------

    def entity_attributes(self, logical_name: str) -> list[CrmAttribute]:
        """The columns of a table (contact, lead, account, ...), display name falling back to
        the logical name when the column has no label."""
        if not _LOGICAL_NAME.match(logical_name):
            raise ValueError(f"not a Dataverse logical name: {logical_name!r}")
        body = self._get_json(
            f"EntityDefinitions(LogicalName='{logical_name}')/Attributes",
            {"$select": "LogicalName,AttributeType,DisplayName"},
        )
        attributes = []
        for item in body.get("value", []) if isinstance(body, dict) else []:
            name = str(item["LogicalName"])
            attributes.append(
                CrmAttribute(
                    entity=logical_name,
                    logical_name=name,
                    display_name=_display_name(item.get("DisplayName"), name),
                    attribute_type=str(item.get("AttributeType") or ""),
                )
            )
        return attributes
