"""Dotdigital API client: region discovery, then the v2 and v3 calls the sync types use.

`DotdigitalClient.connect()` calls `GET {discovery}/v2/account-info` (any region answers it)
and sends every later call to the account's own region, the `ApiEndpoint` property. Auth is
HTTP Basic with an API user.

Dotdigital requires both API generations: v3 Contacts for contacts and bulk imports
(`contacts`, `imports`); v2 for address books, suppressions, data fields, campaigns
and their behaviour, programs, preferences and surveys (one module each). Paging
(`paging`) is lazy: iterators fetch a page when the previous one is consumed. Errors (`errors`): v2
`{"message": "... ERROR_X"}` and v3 `{errorCode, description, details}` become `ApiError` with
`code`; 401 is `AuthenticationError`; 429, 5xx, timeouts, dropped connections and the legacy
`ERROR_APIUSAGE_EXCEEDED` are retried by the shared `RetryPolicy` (`transport`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from shared.clients.dotdigital.address_books import AddressBooksApi
from shared.clients.dotdigital.campaign_behaviour import CampaignBehaviourApi
from shared.clients.dotdigital.campaigns import CampaignsApi
from shared.clients.dotdigital.contacts import ContactsApi
from shared.clients.dotdigital.data_fields import DataField, DataFieldsApi, DataFieldValue
from shared.clients.dotdigital.errors import error_code
from shared.clients.dotdigital.imports import ImportsApi
from shared.clients.dotdigital.preferences import PreferencesApi
from shared.clients.dotdigital.programs import ProgramsApi
from shared.clients.dotdigital.routes import ACCOUNT_INFO
from shared.clients.dotdigital.scoring import ScoringApi
from shared.clients.dotdigital.suppression_writes import SuppressionWritesApi
from shared.clients.dotdigital.suppressions import SuppressionsApi
from shared.clients.dotdigital.surveys import SurveysApi
from shared.clients.dotdigital.transport import USER_AGENT
from shared.clients.dotdigital.web_insight import WebInsightApi
from shared.clients.dotdigital.wire import field
from shared.clients.retry import RetryPolicy
from shared.errors import ApiError

__all__ = ["USER_AGENT", "DataField", "DataFieldValue", "DotdigitalClient", "error_code"]


class DotdigitalClient(
    DataFieldsApi,
    AddressBooksApi,
    SuppressionsApi,
    SuppressionWritesApi,
    ContactsApi,
    ImportsApi,
    CampaignsApi,
    CampaignBehaviourApi,
    ProgramsApi,
    PreferencesApi,
    ScoringApi,
    WebInsightApi,
    SurveysApi,
):
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

    def account_info(self) -> dict[str, str]:
        """The account-info properties as name -> value."""
        body = self._get(ACCOUNT_INFO)
        properties = field(body, "properties") if isinstance(body, dict) else None
        result: dict[str, str] = {}
        for item in properties or []:
            if isinstance(item, dict) and field(item, "name"):
                value = field(item, "value")
                result[str(field(item, "name"))] = "" if value is None else str(value)
        return result
