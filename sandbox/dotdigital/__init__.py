"""Dotdigital API sandbox: v2 (account-info region discovery, data fields, address books,
suppressions, campaigns, programs, preferences) and v3 (contacts, imports), stateful, with a
deterministic generator (`SeedSpec`) and fault, rate-limit and job-timing switches."""

from sandbox.dotdigital.api_address_books import (
    ADDRESS_BOOK,
    ADDRESS_BOOK_CONTACT,
    ADDRESS_BOOK_CONTACTS,
    ADDRESS_BOOK_CONTACTS_DELETE,
    ADDRESS_BOOK_UNSUBSCRIBED_SINCE,
    ADDRESS_BOOKS,
    CONTACT_DELETION,
)
from sandbox.dotdigital.api_campaigns import (
    CAMPAIGN_ACTIVITIES_SINCE,
    CAMPAIGN_SEND,
    CAMPAIGN_SEND_STATUS,
    CAMPAIGN_SUMMARY,
    CAMPAIGNS,
    CAMPAIGNS_WITH_ACTIVITY_SINCE,
)
from sandbox.dotdigital.api_contacts import CONTACT, CONTACTS, IMPORT, IMPORT_STATUS
from sandbox.dotdigital.api_preferences import (
    CONTACT_PREFERENCES,
    CONTACT_SUBSCRIPTIONS,
    OPT_INS_SINCE,
    PREFERENCES,
    SET_CONTACT_PREFERENCES,
)
from sandbox.dotdigital.api_programs import ENROLMENT, ENROLMENTS, PROGRAMS
from sandbox.dotdigital.api_suppressions import SUPPRESSED_SINCE, UNSUBSCRIBED_SINCE
from sandbox.dotdigital.app import ACCOUNT_INFO, DATA_FIELDS, create_dotdigital_app
from sandbox.dotdigital.generator import Seeded, SeedSpec
from sandbox.dotdigital.state import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    RESERVED_FIELDS,
    DataFieldRecord,
    DotdigitalState,
)

__all__ = [
    "ACCOUNT_INFO",
    "ADDRESS_BOOK",
    "ADDRESS_BOOKS",
    "ADDRESS_BOOK_CONTACT",
    "ADDRESS_BOOK_CONTACTS",
    "ADDRESS_BOOK_CONTACTS_DELETE",
    "ADDRESS_BOOK_UNSUBSCRIBED_SINCE",
    "CAMPAIGNS",
    "CAMPAIGNS_WITH_ACTIVITY_SINCE",
    "CAMPAIGN_ACTIVITIES_SINCE",
    "CAMPAIGN_SEND",
    "CAMPAIGN_SEND_STATUS",
    "CAMPAIGN_SUMMARY",
    "CONTACT",
    "CONTACTS",
    "CONTACT_DELETION",
    "CONTACT_PREFERENCES",
    "CONTACT_SUBSCRIPTIONS",
    "DATA_FIELDS",
    "DEMO_API_PASSWORD",
    "DEMO_API_USER",
    "ENROLMENT",
    "ENROLMENTS",
    "IMPORT",
    "IMPORT_STATUS",
    "OPT_INS_SINCE",
    "PREFERENCES",
    "PROGRAMS",
    "RESERVED_FIELDS",
    "SET_CONTACT_PREFERENCES",
    "SUPPRESSED_SINCE",
    "UNSUBSCRIBED_SINCE",
    "DataFieldRecord",
    "DotdigitalState",
    "SeedSpec",
    "Seeded",
    "create_dotdigital_app",
]
