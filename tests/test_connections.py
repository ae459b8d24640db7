"""Identity-based connections and connection strings both resolve to the right endpoints."""

from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.messaging.service_bus import ServiceBusAdapter
from shared.messaging.storage_queue import queue_service
from shared.settings import Settings
from shared.storage.tables import table_service


def _settings(**values: str) -> Settings:
    # Only what the test passes: no environment, no local.settings.json.
    return Settings(_env_file=None, **values)  # type: ignore[arg-type,call-arg]


def test_managed_identity_storage_uses_the_account_endpoints() -> None:
    settings = _settings(AzureWebJobsStorage__accountName="contosodms")
    assert table_service(settings).url.startswith("https://contosodms.table.core.windows.net")
    assert queue_service(settings).url.startswith("https://contosodms.queue.core.windows.net")


def test_explicit_service_uris_win_over_the_account_name() -> None:
    settings = _settings(
        AzureWebJobsStorage__accountName="contosodms",
        AzureWebJobsStorage__tableServiceUri="https://tables.example.invalid",
    )
    assert table_service(settings).url.startswith("https://tables.example.invalid")


def test_connection_string_storage() -> None:
    settings = _settings(AzureWebJobsStorage="UseDevelopmentStorage=true")
    assert "127.0.0.1:10002" in table_service(settings).url


def test_no_storage_says_which_settings_to_set() -> None:
    with pytest.raises(ConfigurationError, match="AzureWebJobsStorage__accountName"):
        table_service(_settings())


def test_service_bus_identity_and_missing_configuration() -> None:
    adapter = ServiceBusAdapter.from_settings(
        _settings(ServiceBusConnection__fullyQualifiedNamespace="contoso.servicebus.windows.net")
    )
    assert isinstance(adapter, ServiceBusAdapter)
    with pytest.raises(ConfigurationError, match="fullyQualifiedNamespace"):
        ServiceBusAdapter.from_settings(_settings())


def test_settings_report_every_invalid_value_at_once_in_one_line() -> None:
    with pytest.raises(ConfigurationError) as error:
        _settings(RUN_LEASE_SECONDS="-1", HTTP_MAX_RETRIES="lots", SYNC_QUEUE_BACKEND="Kafka")
    text = str(error.value)
    assert "RUN_LEASE_SECONDS" in text and "HTTP_MAX_RETRIES" in text
    assert "SYNC_QUEUE_BACKEND" in text
    assert "\n" not in text and "lots" not in text  # one line, and no setting's value
