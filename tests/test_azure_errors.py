"""Storage that cannot be used says where and what to do, as a product error of its category."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import pytest
from azure.storage.queue import QueueClient

from shared.azure_errors import StorageUnreachable
from shared.azurite import DEV_ACCOUNT, AzuriteProcess
from shared.errors import AuthenticationError, Category
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.settings import Settings
from shared.storage.tables import Tables


def _connection_string(*, key: str, **endpoints: str) -> str:
    parts = [f"{name}Endpoint={url}" for name, url in endpoints.items()]
    return ";".join(
        ["DefaultEndpointsProtocol=http", f"AccountName={DEV_ACCOUNT}", f"AccountKey={key}", *parts]
    )


# Well-formed base64, visibly not a key.
WRONG_KEY = base64.b64encode(b"not the account key " * 3).decode()


@pytest.fixture
def closed_endpoint() -> Iterator[str]:
    """An endpoint whose port is held but not listening: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/{DEV_ACCOUNT}"


def test_a_queue_nobody_serves_names_its_url_and_is_retriable(closed_endpoint: str) -> None:
    connection = _connection_string(key=WRONG_KEY, Queue=closed_endpoint)
    # No SDK retries: the default backoff waits about 80 s before giving up.
    queue, poison = (
        QueueClient.from_connection_string(connection, name, retry_total=0)
        for name in ("sync-requests", "sync-requests-poison")
    )
    with pytest.raises(StorageUnreachable) as caught:
        StorageQueueAdapter(queue, poison)
    assert str(caught.value) == (
        f"Cannot reach Queue Storage at {closed_endpoint}/sync-requests: is Azurite running? "
        "`make demo` starts it (or check AzureWebJobsStorage)."
    )
    assert caught.value.category is Category.RETRIABLE


def test_a_wrong_account_key_is_an_authentication_error(azurite: AzuriteProcess) -> None:
    table_endpoint = f"http://127.0.0.1:{azurite.table_port}/{DEV_ACCOUNT}"
    settings = Settings(
        AzureWebJobsStorage=_connection_string(key=WRONG_KEY, Table=table_endpoint),
        TABLE_PREFIX="wrongkey",
    )
    with pytest.raises(AuthenticationError) as caught:
        Tables.from_settings(settings).client("SyncAudit")
    message = str(caught.value)
    assert message.startswith(f"Table Storage at {table_endpoint} refused the credentials")
    assert "check the account key in AzureWebJobsStorage" in message
    assert "\n" not in message and WRONG_KEY not in message


def test_an_azure_endpoint_gets_advice_without_azurite() -> None:
    error = StorageUnreachable("Table Storage", "https://contoso.table.core.windows.net/")
    assert "Azurite" not in str(error)
    assert "check AzureWebJobsStorage" in str(error)
