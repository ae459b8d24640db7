"""HTTP clients for Dataverse and Dotdigital, with one shared retry policy."""

from shared.clients.dataverse import CrmAttribute, DataverseClient, MsalTokenProvider, TokenProvider
from shared.clients.dataverse_batch import BatchOutcome, BatchRequest, BatchResult, ChangeSet
from shared.clients.dataverse_changes import ChangeFeed, ChangePage
from shared.clients.dataverse_lists import MarketingList, MemberType
from shared.clients.dataverse_writes import CreatedRecord
from shared.clients.dotdigital import DataField, DotdigitalClient, error_code
from shared.clients.dotdigital_address_books import AddressBook, BulkDeletion
from shared.clients.dotdigital_campaigns import (
    Campaign,
    CampaignActivity,
    CampaignSend,
    CampaignSummary,
)
from shared.clients.dotdigital_contacts import Contact, ListContact, ListMembership
from shared.clients.dotdigital_errors import (
    ImportFailedError,
    ImportStillRunning,
    OutcomeUnknownError,
    PagingLoopError,
    UnsafeCampaignSendError,
)
from shared.clients.dotdigital_imports import (
    ImportContact,
    ImportFailure,
    ImportLimits,
    ImportReport,
    ImportResult,
    ImportSummary,
)
from shared.clients.dotdigital_preferences import Preference, PreferenceChoice
from shared.clients.dotdigital_programs import Program, ProgramEnrolment
from shared.clients.dotdigital_routes import Route
from shared.clients.dotdigital_suppressions import Suppression
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
    "ImportContact",
    "ImportFailedError",
    "ImportFailure",
    "ImportLimits",
    "ImportReport",
    "ImportResult",
    "ImportStillRunning",
    "ImportSummary",
    "ListContact",
    "ListMembership",
    "OutcomeUnknownError",
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
    "ChangeSet",
    "CreatedRecord",
    "MarketingList",
    "MemberType",
]
