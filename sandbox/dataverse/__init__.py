"""Dataverse Web API sandbox (with its Entra ID token endpoint on the same server)."""

from sandbox.dataverse.app import (
    ATTRIBUTES_TEMPLATE,
    DISCOVERY_TEMPLATE,
    TOKEN_TEMPLATE,
    create_dataverse_app,
)
from sandbox.dataverse.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TENANT_ID,
    AttributeDef,
    DataverseState,
)

__all__ = [
    "ATTRIBUTES_TEMPLATE",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_TENANT_ID",
    "DISCOVERY_TEMPLATE",
    "TOKEN_TEMPLATE",
    "AttributeDef",
    "DataverseState",
    "create_dataverse_app",
]
