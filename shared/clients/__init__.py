"""HTTP clients for Dataverse and Dotdigital, with one shared retry policy."""

from shared.clients.dataverse import CrmAttribute, DataverseClient, MsalTokenProvider, TokenProvider
from shared.clients.dotdigital import DataField, DotdigitalClient, error_code
from shared.clients.retry import RetryPolicy, TransientHttpError, server_requested_wait

__all__ = [
    "CrmAttribute",
    "DataField",
    "DataverseClient",
    "DotdigitalClient",
    "MsalTokenProvider",
    "RetryPolicy",
    "TokenProvider",
    "TransientHttpError",
    "error_code",
    "server_requested_wait",
]
