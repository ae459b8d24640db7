"""Azure Storage SDK errors as product errors that name the endpoint and say what to do.

Applied at first contact (creating the tables, the queues), where a missing Azurite or a wrong
connection string shows up; later SDK errors stay as the SDK raised them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import AuthenticationError, ConfigurationError, RetriableError, SyncError

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _advice(endpoint: str) -> str:
    if urlsplit(endpoint).hostname in _LOCAL_HOSTS:
        return "is Azurite running? `make demo` starts it (or check AzureWebJobsStorage)."
    return "check AzureWebJobsStorage and that this machine can reach the storage account."


class StorageUnreachable(RetriableError):
    def __init__(self, service: str, endpoint: str) -> None:
        super().__init__(f"Cannot reach {service} at {endpoint}: {_advice(endpoint)}")
        self.endpoint = endpoint


def storage_error(error: AzureError, service: str, endpoint: str) -> SyncError | None:
    """The product error for an SDK error, or None when there is nothing more useful to say."""
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return StorageUnreachable(service, endpoint)
    # A wrong account key is a plain 403 (AuthorizationFailure); a token the identity could not
    # get is a ClientAuthenticationError without a response.
    refused = isinstance(error, HttpResponseError) and error.status_code in (401, 403)
    if refused or isinstance(error, ClientAuthenticationError):
        code = getattr(error, "error_code", None)
        return AuthenticationError(
            f"{service} at {endpoint} refused the credentials"
            + (f" ({code})" if code else "")
            + ": check the account key in AzureWebJobsStorage (or the managed identity's "
            "role assignments)."
        )
    if isinstance(error, HttpResponseError) and not getattr(error, "error_code", None):
        # Azure Storage names every refusal (x-ms-error-code); an answer without one comes
        # from some other server at that address (another service on Azurite's port).
        status = f"HTTP {error.status_code}" if error.status_code else "an answer"
        return ConfigurationError(
            f"{service} at {endpoint} answered with {status} that is not Azure Storage's: "
            "check AzureWebJobsStorage (is another program on that port?)."
        )
    return None


@contextmanager
def first_contact(service: str, endpoint: str) -> Iterator[None]:
    try:
        yield
    except AzureError as error:
        product = storage_error(error, service, endpoint)
        if product is None:
            raise
        raise product from error
