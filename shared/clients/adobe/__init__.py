"""Adobe Campaign Standard REST API client (OAuth server-to-server): one module per area,
`AdobeCampaignClient` in front."""

from shared.clients.adobe.auth import ImsTokenProvider
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.adobe.errors import (
    DuplicateKey,
    EngineRefusal,
    ForeignHref,
    RecordNotFound,
    SignalLockedOut,
)
from shared.clients.adobe.metadata import CampaignField, ResourceMetadata
from shared.clients.adobe.models import (
    OPT_OUT_FIELDS,
    Profile,
    ResourcePage,
    SignalActivity,
    WorkflowInfo,
    Written,
    technical_names,
)

__all__ = [
    "OPT_OUT_FIELDS",
    "AdobeCampaignClient",
    "CampaignField",
    "DuplicateKey",
    "EngineRefusal",
    "ForeignHref",
    "ImsTokenProvider",
    "Profile",
    "RecordNotFound",
    "ResourceMetadata",
    "ResourcePage",
    "SignalActivity",
    "SignalLockedOut",
    "WorkflowInfo",
    "Written",
    "technical_names",
]
