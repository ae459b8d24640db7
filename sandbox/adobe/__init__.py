"""Adobe Campaign Standard sandbox: IMS OAuth server-to-server tokens, profiles and `cus`
custom resources (paging, forced pagination, filters, counts), the engine's text errors,
workflows whose signals lock out for 10 minutes, and the Adobe I/O Events journal of email
events; fault switches and counters."""

from sandbox.adobe.app import (
    COLLECTION,
    COUNT,
    FILTER_COUNT,
    ITEM,
    METADATA,
    RESOURCES,
    TOKEN,
    TRIGGER,
    WORKFLOW,
    create_adobe_app,
)
from sandbox.adobe.events import DEMO_IMS_ORG_ID, EVENT_TYPES, EventMix
from sandbox.adobe.journal_api import JOURNAL
from sandbox.adobe.state import (
    DEMO_ACS_CLIENT_ID,
    DEMO_ACS_CLIENT_SECRET,
    DEMO_ACS_SCOPES,
    DEMO_ORGANIZATION,
    AdobeState,
    wire_time,
)

__all__ = [
    "COLLECTION",
    "COUNT",
    "DEMO_ACS_CLIENT_ID",
    "DEMO_ACS_CLIENT_SECRET",
    "DEMO_ACS_SCOPES",
    "DEMO_IMS_ORG_ID",
    "DEMO_ORGANIZATION",
    "EVENT_TYPES",
    "FILTER_COUNT",
    "ITEM",
    "JOURNAL",
    "METADATA",
    "RESOURCES",
    "TOKEN",
    "TRIGGER",
    "WORKFLOW",
    "AdobeState",
    "EventMix",
    "create_adobe_app",
    "wire_time",
]
