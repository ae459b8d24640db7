"""Dotdigital v2 API client: region discovery, then contact data fields.

`DotdigitalClient.connect()` calls `GET {discovery}/v2/account-info` (any region answers it)
and sends every later call to the account's own region, the `ApiEndpoint` property. Auth is
HTTP Basic with an API user. v2 errors `{"message":"... ERROR_X"}` become `ApiError` with
`code="ERROR_X"`; 401 is an `AuthenticationError`; 429, 5xx, timeouts, dropped connections and
the legacy `ERROR_APIUSAGE_EXCEEDED` are retried by the shared `RetryPolicy`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from shared.clients.retry import (
    RetryPolicy,
    TransientHttpError,
    server_requested_wait,
    status_description,
)
from shared.errors import ApiError, AuthenticationError

USER_AGENT = "dynamics-marketing-sync/0.1"
_ERROR_CODE = re.compile(r"\b(ERROR_[A-Z0-9_]+)\W*$")
_RATE_LIMIT_CODES = frozenset({"ERROR_APIUSAGE_EXCEEDED"})

DataFieldValue = str | int | float | bool | None


class DataField(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    visibility: str
    default_value: DataFieldValue = None


def error_code(message: str) -> str | None:
    """The trailing ERROR_X token of a v2 error message ("... ERROR_X" or "Error: ERROR_X")."""
    match = _ERROR_CODE.search(message.strip())
    return match.group(1) if match else None


def _field(item: dict[str, Any], name: str) -> Any:
    """A key of a v2 object whatever its casing (responses are camelCase, some PascalCase)."""
    lowered = name.lower()
    return next((value for key, value in item.items() if key.lower() == lowered), None)


def _data_field(item: Any) -> DataField:
    if not isinstance(item, dict):
        raise ApiError("Dotdigital returned a data field that is not an object", status=200)
    default = _field(item, "defaultValue")
    return DataField(
        name=str(_field(item, "name")),
        type=str(_field(item, "type")),
        visibility=str(_field(item, "visibility") or "Private"),
        default_value=default if isinstance(default, str | int | float | bool) else None,
    )


class DotdigitalClient:
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

    @classmethod
    def connect(
        cls,
        discovery_url: str,
        api_user: str,
        password: SecretStr,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
    ) -> DotdigitalClient:
        """Find the account's region through account-info and return a client bound to it."""
        discovery = cls(discovery_url, api_user, password, http=http, retry=retry)
        properties = discovery.account_info()
        endpoint = (properties.get("ApiEndpoint") or "").strip()
        if not endpoint:
            raise ApiError(
                "Dotdigital account-info did not report an ApiEndpoint for the account",
                status=200,
            )
        scheme = urlsplit(endpoint).scheme
        # Credentials only ever travel over https, unless discovery itself is plain http (the
        # local sandbox).
        if scheme != "https" and not (scheme == "http" and discovery_url.startswith("http://")):
            raise ApiError(
                f"Dotdigital reported an ApiEndpoint that is not https: {endpoint}", status=200
            )
        return cls(
            endpoint,
            api_user,
            password,
            http=http,
            retry=retry,
            account_properties=properties,
        )

    # Transport --------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, json: Any = None, outcome_unknown: list[bool] | None = None
    ) -> httpx.Response:
        """One call through the retry policy. `outcome_unknown` (if given) is set to [True]
        when an earlier attempt may have reached the server without us seeing the answer."""
        operation = f"{method} {path}"

        def attempt() -> httpx.Response:
            try:
                response = self._http.request(
                    method,
                    self.api_endpoint + path,
                    json=json,
                    auth=self._auth,
                    headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                )
            except (httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError):
                if outcome_unknown is not None:
                    outcome_unknown[:] = [True]
                raise
            self._raise_for_status(response, operation)
            return response

        return self._retry.run("Dotdigital", operation, attempt)

    def _raise_for_status(self, response: httpx.Response, operation: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = self._message(response)
        code = error_code(message)
        if status == 429 or status >= 500 or code in _RATE_LIMIT_CODES:
            wait = server_requested_wait(response.headers, now=self._retry.clock())
            raise TransientHttpError(
                f"{status_description(response)}: {message}", status=status, retry_after=wait
            )
        if status == 401:
            raise AuthenticationError(
                f"Dotdigital refused the API user {self.api_user} (HTTP 401): {message}"
            )
        raise ApiError(
            f"Dotdigital {operation} failed (HTTP {status}): {message}", status=status, code=code
        )

    @staticmethod
    def _message(response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text.strip()[:300] or status_description(response)
        if isinstance(body, dict):
            message = _field(body, "message")
            if message:
                return str(message)
        return status_description(response)

    # Calls ------------------------------------------------------------------------------------

    def account_info(self) -> dict[str, str]:
        """The account-info properties as name -> value."""
        body = self._call("GET", "/v2/account-info").json()
        properties = _field(body, "properties") if isinstance(body, dict) else None
        result: dict[str, str] = {}
        for item in properties or []:
            if isinstance(item, dict) and _field(item, "name"):
                value = _field(item, "value")
                result[str(_field(item, "name"))] = "" if value is None else str(value)
        return result

    def list_data_fields(self) -> list[DataField]:
        body = self._call("GET", "/v2/data-fields").json()
        if not isinstance(body, list):
            raise ApiError("Dotdigital returned data fields that are not a list", status=200)
        return [_data_field(item) for item in body]

    def create_data_field(
        self,
        name: str,
        type: str,
        *,
        visibility: str = "Private",
        default_value: DataFieldValue = None,
    ) -> DataField:
        """Create a contact data field; ApiError code ERROR_NON_UNIQUE_DATAFIELD if it exists."""
        request = {
            "name": name,
            "type": type,
            "visibility": visibility,
            "defaultValue": default_value,
        }
        outcome_unknown: list[bool] = []
        try:
            response = self._call(
                "POST", "/v2/data-fields", json=request, outcome_unknown=outcome_unknown
            )
        except ApiError as error:
            # A retry after a lost answer finds the field our own earlier attempt created.
            if error.code == "ERROR_NON_UNIQUE_DATAFIELD" and outcome_unknown:
                existing = next(
                    (f for f in self.list_data_fields() if f.name.lower() == name.lower()), None
                )
                if existing is not None and existing.type.lower() == type.lower():
                    return existing
            raise
        # The generated spec documents 201 without a body; the docs show the field echoed.
        if response.content.strip():
            return _data_field(response.json())
        return DataField(name=name, type=type, visibility=visibility, default_value=default_value)
