"""`ChangeEvent`: one Dataverse change as a webhook reported it, in the product's terms.

`shared.webhooks.context` builds it from the posted RemoteExecutionContext (its `[{"key",
"value"}]` lists, WCF dates and entity references); everything after the endpoint reads
only this model.
"""

from __future__ import annotations

import hashlib

from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue

# The messages the connector registers steps for.
MESSAGES = ("Create", "Update", "Delete", "Associate", "Disassociate")


class EntityRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    logical_name: str
    id: str  # lower-case GUID


class ChangeEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    organization_id: str  # OrganizationId, lower-case GUID
    organization_domain: str  # the x-ms-dynamics-organization header, lower-case
    correlation_id: str  # CorrelationId
    request_id: str = ""  # the x-ms-correlation-request-id header (kept for support)
    message: str  # one of MESSAGES
    entity: str  # PrimaryEntityName (Associate / Disassociate: the Target's table)
    record_id: str  # PrimaryEntityId (Associate / Disassociate: the Target's id), lower-case
    # Tells two changes of one record within one correlation apart: the Target's RowVersion,
    # else its `modifiedon`, else OperationCreatedOn.
    version: str
    operation_created: AwareDatetime  # OperationCreatedOn
    user_id: str  # UserId (the step's user), lower-case GUID
    initiating_user_id: str  # InitiatingUserId, lower-case GUID
    depth: int  # Depth
    # Target's columns (Create / Update) with plain values: an EntityReference becomes its id,
    # an OptionSetValue or Money its number, a WCF date ISO 8601. Empty when size_exceeded.
    attributes: dict[str, JsonValue] = {}
    pre_image: dict[str, JsonValue] = {}  # PreEntityImages, merged, plain values as above
    post_image: dict[str, JsonValue] = {}  # PostEntityImages, merged
    relationship: str = ""  # Associate / Disassociate: Relationship.SchemaName
    related: tuple[EntityRef, ...] = ()  # Associate / Disassociate: RelatedEntities
    # x-ms-dynamics-msg-size-exceeded: Dataverse removed InputParameters and the images, so
    # the record is re-read when the event is processed.
    size_exceeded: bool = False

    @property
    def key(self) -> str:
        """The idempotency key: (CorrelationId, entity, id, message, version) hashed."""
        parts = (self.correlation_id, self.entity, self.record_id, self.message, self.version)
        return hashlib.sha256("|".join(parts).lower().encode()).hexdigest()[:40]

    @property
    def changed(self) -> frozenset[str]:
        """The columns the change carried (Update: the changed ones and system columns)."""
        return frozenset(self.attributes)
