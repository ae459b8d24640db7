"""Which Dataverse organizations may post webhooks, and who the connector is there.

`python -m shared webhooks register` writes one row per organization (table
WebhookRegistrations, PartitionKey "organization", RowKey the organization id): the domain
Dataverse names in `x-ms-dynamics-organization`, and the connector's application user (from
WhoAmI), whose own writes the endpoint ignores (loop prevention). The endpoint answers 403 to
an organization without a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from shared.storage.entities import aware

PARTITION = "organization"


@dataclass
class WebhookRegistration:
    organization_id: str  # lower-case GUID
    organization_domain: str  # lower-case host name, e.g. contoso.crm.dynamics.com
    connector_user_id: str  # lower-case GUID of the connector's application user
    registered: datetime
    endpoint_id: str = ""  # serviceendpointid; "" when the steps were registered by hand
    url: str = ""  # the endpoint's URL without its key
    auth_type: str = ""  # WebhookKey, HttpHeader or HttpQueryString
    steps: int = 0  # steps registered by the command


class WebhookRegistrations:
    TABLE = "WebhookRegistrations"

    def __init__(self, table: TableClient) -> None:
        self.table = table

    def save(self, registration: WebhookRegistration) -> None:
        self.table.upsert_entity(_entity(registration), mode=UpdateMode.REPLACE)

    def get(self, organization_id: str) -> WebhookRegistration | None:
        try:
            entity = self.table.get_entity(PARTITION, organization_id.lower())
        except ResourceNotFoundError:
            return None
        return _registration(entity)

    def all(self) -> list[WebhookRegistration]:
        rows = self.table.query_entities("PartitionKey eq @p", parameters={"p": PARTITION})
        return [_registration(row) for row in rows]

    def delete(self, organization_id: str) -> None:
        self.table.delete_entity(PARTITION, organization_id.lower())


def _entity(registration: WebhookRegistration) -> dict[str, Any]:
    return {
        "PartitionKey": PARTITION,
        "RowKey": registration.organization_id.lower(),
        "OrganizationDomain": registration.organization_domain.lower(),
        "ConnectorUserId": registration.connector_user_id.lower(),
        "RegisteredUtc": registration.registered,
        "EndpointId": registration.endpoint_id,
        "Url": registration.url,
        "AuthType": registration.auth_type,
        "Steps": registration.steps,
    }


def _registration(entity: Any) -> WebhookRegistration:
    return WebhookRegistration(
        organization_id=str(entity["RowKey"]),
        organization_domain=str(entity.get("OrganizationDomain", "")),
        connector_user_id=str(entity.get("ConnectorUserId", "")),
        registered=aware(entity.get("RegisteredUtc")) or datetime.fromtimestamp(0, UTC),
        endpoint_id=str(entity.get("EndpointId", "")),
        url=str(entity.get("Url", "")),
        auth_type=str(entity.get("AuthType", "")),
        steps=int(entity.get("Steps", 0) or 0),
    )
