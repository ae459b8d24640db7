"""Table clients for the product's tables, from a connection string or a managed identity."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cached_property

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.azure_errors import first_contact
from shared.settings import Settings

TABLES = (
    "EmailAccounts",
    "SyncSchedules",
    "SyncDue",
    "SyncState",
    "SyncAudit",
    "SyncAuditDetails",
    "CrmFields",
    "EmailDataLabels",
    "EmailDataMappings",
    "MarketingListLinks",
    "ListSnapshots",
    "MarketingListHistory",
    "WebhookRegistrations",
    "WebhookEvents",
    "WebhookTargets",
    "ProgramAccess",
    "UserMappings",
    "AdobeCampaignConfig",
    "AdobeFileDrop",
)


def table_service(settings: Settings) -> TableServiceClient:
    if settings.storage_connection_string is not None:
        return TableServiceClient.from_connection_string(
            settings.storage_connection_string.get_secret_value()
        )
    account = settings.require_storage()
    from shared.identity import azure_credential

    endpoint = settings.storage_table_service_uri or f"https://{account}.table.core.windows.net"
    return TableServiceClient(endpoint=endpoint, credential=azure_credential(settings))


@dataclass
class Tables:
    """One TableClient per product table; tables are created on first use."""

    service: TableServiceClient
    prefix: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Tables:
        return cls(table_service(settings), settings.table_prefix)

    def client(self, name: str) -> TableClient:
        assert name in TABLES, name
        return self._clients[name]

    @cached_property
    def _clients(self) -> dict[str, TableClient]:
        clients = {}
        with first_contact("Table Storage", self.service.url):
            for name in TABLES:
                full = f"{self.prefix}{name}"
                with contextlib.suppress(ResourceExistsError):
                    self.service.create_table(full)
                clients[name] = self.service.get_table_client(full)
        return clients
