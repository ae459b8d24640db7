"""Dataverse Web API client: one module per protocol area, `client.DataverseClient` in front."""

from shared.clients.dataverse.client import (
    API_PATH,
    DEFAULT_MAX_CONCURRENCY,
    ODATA_HEADERS,
    CrmAttribute,
    DataverseClient,
    MsalTokenProvider,
    TokenProvider,
)

__all__ = [
    "API_PATH",
    "DEFAULT_MAX_CONCURRENCY",
    "ODATA_HEADERS",
    "CrmAttribute",
    "DataverseClient",
    "MsalTokenProvider",
    "TokenProvider",
]
