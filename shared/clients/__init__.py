"""HTTP clients for Dataverse and Dotdigital, with one shared retry policy."""

from shared.clients.dataverse.batch import BatchOutcome, BatchRequest, BatchResult, ChangeSet
from shared.clients.dataverse.changes import ChangeFeed, ChangePage, ChangePosition
from shared.clients.dataverse.client import (
    CrmAttribute,
    DataverseClient,
    MsalTokenProvider,
    TokenProvider,
)
from shared.clients.dataverse.fetchxml import FetchXmlPage, FetchXmlPosition
from shared.clients.dataverse.lists import MarketingList, MemberPage, MemberPosition, MemberType
from shared.clients.dataverse.paging import LinkPosition, Page
from shared.clients.dataverse.writes import CreatedRecord
from shared.clients.dotdigital.address_books import AddressBook, BulkDeletion
from shared.clients.dotdigital.campaigns import (
    Campaign,
    CampaignActivity,
    CampaignSend,
    CampaignSummary,
)
from shared.clients.dotdigital.client import DataField, DotdigitalClient, error_code
from shared.clients.dotdigital.contacts import Contact, ListContact, ListMembership
from shared.clients.dotdigital.errors import (
    ImportFailedError,
    ImportStillRunning,
    PagingLoopError,
    UnsafeCampaignSendError,
)
from shared.clients.dotdigital.imports import (
    ImportContact,
    ImportFailure,
    ImportLimits,
    ImportReport,
    ImportResult,
    ImportSummary,
)
from shared.clients.dotdigital.paging import ItemsPage, Paged
from shared.clients.dotdigital.preferences import (
    ContactOptIns,
    OptIn,
    Preference,
    PreferenceChoice,
)
from shared.clients.dotdigital.programs import Program, ProgramEnrolment
from shared.clients.dotdigital.routes import Route
from shared.clients.dotdigital.suppressions import Suppression
from shared.clients.retry import RetryPolicy, TransientHttpError, server_requested_wait

__all__ = [
    "CrmAttribute",
    "DataField",
    "DataverseClient",
    "DotdigitalClient",
    "MsalTokenProvider",
    "RetryPolicy",
    "TokenProvider",
    "TransientHttpError",
    "error_code",
    "server_requested_wait",
]

# Dotdigital API types (v2 and v3)
__all__ += [
    "AddressBook",
    "BulkDeletion",
    "Campaign",
    "CampaignActivity",
    "CampaignSend",
    "CampaignSummary",
    "Contact",
    "ContactOptIns",
    "ImportContact",
    "ImportFailedError",
    "ImportFailure",
    "ImportLimits",
    "ImportReport",
    "ImportResult",
    "ImportStillRunning",
    "ImportSummary",
    "ItemsPage",
    "ListContact",
    "ListMembership",
    "OptIn",
    "Paged",
    "PagingLoopError",
    "Preference",
    "PreferenceChoice",
    "Program",
    "ProgramEnrolment",
    "Route",
    "Suppression",
    "UnsafeCampaignSendError",
]

# Dataverse Web API types
__all__ += [
    "BatchOutcome",
    "BatchRequest",
    "BatchResult",
    "ChangeFeed",
    "ChangePage",
    "ChangePosition",
    "ChangeSet",
    "CreatedRecord",
    "FetchXmlPage",
    "FetchXmlPosition",
    "LinkPosition",
    "MarketingList",
    "MemberPage",
    "MemberPosition",
    "MemberType",
    "Page",
]
