"""Dataverse Web API sandbox (with its Entra ID token endpoint on the same server)."""

from sandbox.dataverse.app import (
    ACTION_TEMPLATE,
    ATTRIBUTES_TEMPLATE,
    BATCH_TEMPLATE,
    BULK_TEMPLATE,
    COLLECTION_TEMPLATE,
    DISCOVERY_TEMPLATE,
    ENTITY_DEFINITIONS_TEMPLATE,
    NAVIGATION_TEMPLATE,
    RECORD_TEMPLATE,
    REF_ITEM_TEMPLATE,
    REF_TEMPLATE,
    TOKEN_TEMPLATE,
    create_dataverse_app,
)
from sandbox.dataverse.generator import ListSpec, SeedResult
from sandbox.dataverse.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TENANT_ID,
    AttributeDef,
    DataverseState,
)
from sandbox.dataverse.webhooks import CRM_USER_ID

__all__ = [
    "ACTION_TEMPLATE",
    "ATTRIBUTES_TEMPLATE",
    "BATCH_TEMPLATE",
    "BULK_TEMPLATE",
    "COLLECTION_TEMPLATE",
    "CRM_USER_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_TENANT_ID",
    "DISCOVERY_TEMPLATE",
    "ENTITY_DEFINITIONS_TEMPLATE",
    "NAVIGATION_TEMPLATE",
    "RECORD_TEMPLATE",
    "REF_ITEM_TEMPLATE",
    "REF_TEMPLATE",
    "TOKEN_TEMPLATE",
    "AttributeDef",
    "DataverseState",
    "ListSpec",
    "SeedResult",
    "create_dataverse_app",
]
