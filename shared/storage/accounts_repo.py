"""Email accounts in Table Storage (one row per account, PartitionKey = account id)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity

from shared.accounts import AdobeConnection, CampaignSyncLevel, EmailAccount, Platform
from shared.storage.entities import read_partitions

ROW_KEY = "Account"
# AdobeConnection's fields as columns (only on Adobe Campaign accounts' rows).
ADOBE_COLUMNS = {
    "organization": "AdobeOrganization",
    "base_url": "AdobeBaseUrl",
    "ims_url": "AdobeImsUrl",
    "client_id": "AdobeClientId",
    "client_secret_name": "AdobeClientSecretName",
    "scopes": "AdobeScopes",
}


def to_entity(account: EmailAccount) -> dict[str, Any]:
    adobe = account.adobe.model_dump() if account.adobe else {}
    return {
        **{column: adobe[name] for name, column in ADOBE_COLUMNS.items() if adobe},
        "PartitionKey": account.account_id,
        "RowKey": ROW_KEY,
        "AccountName": account.name,
        "Description": account.description,
        "Platform": account.platform.value,
        "Owner": account.owner,
        "ConnectorKey": account.connector_key,
        "DefaultAccount": account.is_default,
        "AccountDisabled": account.disabled,
        "UpdateDoNotBulkEmail": account.update_do_not_bulk_email,
        "AddGlobalUnsubscribersToCrmSuppressionList": (
            account.add_global_unsubscribers_to_crm_suppression_list
        ),
        "SyncOnlyOpenLeadsAndActiveContacts": account.sync_only_open_leads_and_active_contacts,
        "CampaignSyncLevel": account.campaign_sync_level.value,
        "ApiUser": account.api_user,
        "ApiPasswordSecretName": account.api_password_secret_name,
    }


def from_entity(entity: TableEntity) -> EmailAccount:
    adobe = None
    if entity.get("AdobeOrganization"):
        adobe = AdobeConnection.model_validate(
            {name: entity.get(column, "") for name, column in ADOBE_COLUMNS.items()}
        )
    return EmailAccount(
        account_id=entity["PartitionKey"],
        name=entity["AccountName"],
        description=entity.get("Description", ""),
        platform=Platform(entity["Platform"]),
        owner=entity.get("Owner", ""),
        connector_key=entity.get("ConnectorKey", ""),
        is_default=entity.get("DefaultAccount", False),
        disabled=entity.get("AccountDisabled", False),
        update_do_not_bulk_email=entity.get("UpdateDoNotBulkEmail", True),
        add_global_unsubscribers_to_crm_suppression_list=entity.get(
            "AddGlobalUnsubscribersToCrmSuppressionList", True
        ),
        sync_only_open_leads_and_active_contacts=entity.get(
            "SyncOnlyOpenLeadsAndActiveContacts", True
        ),
        campaign_sync_level=CampaignSyncLevel(entity.get("CampaignSyncLevel", "Summary")),
        api_user=entity.get("ApiUser", ""),
        api_password_secret_name=entity.get("ApiPasswordSecretName", ""),
        adobe=adobe,
    )


class AccountRepository:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def save(self, account: EmailAccount) -> None:
        self._table.upsert_entity(to_entity(account))

    def get(self, account_id: str) -> EmailAccount | None:
        try:
            return from_entity(self._table.get_entity(account_id, ROW_KEY))
        except ResourceNotFoundError:
            return None

    def get_many(self, account_ids: Iterable[str]) -> dict[str, EmailAccount]:
        """The accounts that exist among `account_ids` (a range scan when there are many)."""
        found = read_partitions(self._table, account_ids, rows_per_key=1)
        return {
            pk: from_entity(row)
            for pk, rows in found.items()
            for row in rows
            if row["RowKey"] == ROW_KEY
        }

    def all(self) -> Iterator[EmailAccount]:
        for entity in self._table.query_entities("RowKey eq @rk", parameters={"rk": ROW_KEY}):
            yield from_entity(entity)
