"""The connector's tables and columns in Dynamics (DESIGN §4b), as data.

`python -m shared dataverse provision` creates them; the sync types write them; the Dataverse
sandbox starts with them installed (sandbox/dataverse/connector_schema.py mirrors this file and
a test keeps the two equal). Email accounts live in Table Storage, so a row names its account
by id in a text column (`dms_emailaccountid`), as the marketing list does.

Rows the connector creates get deterministic ids (uuid5 of the account and the row's natural
key): a re-run or a redelivered message writes the same row again instead of a second one.
"""

from __future__ import annotations

from shared.dynamics_schema.adobe_activities import ADOBE_ACTIVITY_TABLES
from shared.dynamics_schema.engagement import ENGAGEMENT_TABLES, SCORE_ADDITIONS
from shared.dynamics_schema.membership import MembershipAction
from shared.dynamics_schema.model import (
    ColumnAddition,
    ColumnDef,
    Kind,
    Option,
    TableDefinition,
)

EMAIL_ACCOUNT = ColumnDef(
    "dms_emailaccountid",
    Kind.STRING,
    "Email account",
    "The id of the connector's email account this row belongs to.",
    max_length=100,
)


def _email(label: str = "Email") -> ColumnDef:
    return ColumnDef("dms_email", Kind.STRING, label, max_length=100, required=True)


def _regarding(table: str, label: str) -> ColumnDef:
    return ColumnDef(f"dms_{table}id", Kind.LOOKUP, label, target=table)


# Opt-in types in their order: a value only ever rises (seed 002).
OPT_IN_TYPES = (
    Option(1, "Unknown"),
    Option(2, "Single"),
    Option(3, "Double"),
    Option(4, "VerifiedDouble"),
)
OPT_IN_TYPE = ColumnDef(
    "dms_optintype",
    Kind.PICKLIST,
    "Opt-in Type",
    "How the contact opted in to email, as the email platform reports it.",
    options=OPT_IN_TYPES,
)

# The platform's answers to a resubscribe request (dotdigital.md §4).
RESUBSCRIPTION_STATUSES = (
    Option(1, "ContactAdded"),
    Option(2, "ContactChallenged"),
    Option(3, "ContactCannotBeUnsuppressed"),
)
SUPPRESSION_SOURCES = (
    Option(1, "Email platform"),  # written by the connector from the platform's list
    Option(2, "Dynamics"),  # added by a CRM user (empty counts as Dynamics too)
)

EMAIL_SUPPRESSION = TableDefinition(
    logical_name="dms_emailsuppression",
    entity_set="dms_emailsuppressions",
    display_name="Email Suppression",
    plural_name="Email Suppressions",
    description="An email address suppressed in an email account (bounced, unsubscribed, ...).",
    primary_name=_email(),
    columns=(
        ColumnDef("dms_suppressedon", Kind.DATETIME, "Date"),
        ColumnDef("dms_reason", Kind.STRING, "Reason", max_length=100),
        EMAIL_ACCOUNT,
        _regarding("contact", "Contact"),
        _regarding("lead", "Lead"),
        ColumnDef(
            "dms_requestresubscribe",
            Kind.BOOLEAN,
            "Request Resubscribe",
            "Set to ask the email platform to resubscribe this address at the next sync.",
        ),
        ColumnDef(
            "dms_resubscriptionstatus",
            Kind.PICKLIST,
            "Resubscription Status",
            options=RESUBSCRIPTION_STATUSES,
        ),
        ColumnDef("dms_resubscriptiondetail", Kind.STRING, "Resubscription Detail", max_length=500),
        ColumnDef("dms_source", Kind.PICKLIST, "Source", options=SUPPRESSION_SOURCES),
    ),
)

LIST_UNSUBSCRIBER = TableDefinition(
    logical_name="dms_listunsubscriber",
    entity_set="dms_listunsubscribers",
    display_name="Email List Unsubscriber",
    plural_name="Email List Unsubscribers",
    description="Someone who unsubscribed from the address book of a marketing list.",
    primary_name=_email(),
    columns=(
        ColumnDef("dms_unsubscribedon", Kind.DATETIME, "Date Unsubscribed"),
        _regarding("list", "Marketing List"),
        _regarding("contact", "Contact"),
        _regarding("lead", "Lead"),
        EMAIL_ACCOUNT,
    ),
)

MARKETING_PREFERENCE = TableDefinition(
    logical_name="dms_marketingpreference",
    entity_set="dms_marketingpreferences",
    display_name="Marketing Preference",
    plural_name="Marketing Preferences",
    description="A preference (or category) of an email account, with its public name.",
    primary_name=ColumnDef("dms_name", Kind.STRING, "Name", max_length=200, required=True),
    columns=(
        ColumnDef("dms_privatename", Kind.STRING, "Private Name", max_length=200),
        ColumnDef("dms_platformid", Kind.INTEGER, "Platform Id"),
        ColumnDef("dms_category", Kind.STRING, "Category", max_length=200),
        ColumnDef("dms_ispublic", Kind.BOOLEAN, "Public"),
        EMAIL_ACCOUNT,
        # A category groups preferences; contacts opt in to preferences, not to categories.
        ColumnDef("dms_iscategory", Kind.BOOLEAN, "Category"),
    ),
)

MARKETING_PREFERENCE_SUBSCRIPTION = TableDefinition(
    logical_name="dms_marketingpreferencesubscription",
    entity_set="dms_marketingpreferencesubscriptions",
    display_name="Marketing Preference Subscription",
    plural_name="Marketing Preference Subscriptions",
    description="One record's opt-in or opt-out of one marketing preference of an email account.",
    primary_name=ColumnDef("dms_name", Kind.STRING, "Name", max_length=300, required=True),
    columns=(
        ColumnDef(
            "dms_marketingpreferenceid",
            Kind.LOOKUP,
            "Marketing Preference",
            target="dms_marketingpreference",
        ),
        _regarding("contact", "Contact"),
        _regarding("lead", "Lead"),
        _regarding("account", "Account"),
        ColumnDef("dms_email", Kind.STRING, "Email", max_length=100),
        EMAIL_ACCOUNT,
        ColumnDef("dms_optedin", Kind.BOOLEAN, "Opted In"),
        ColumnDef("dms_lastmodified", Kind.DATETIME, "Last Modified"),
        # The opt-in value both sides agreed on at the last sync: a Dynamics-side change is a
        # difference from it (modifiedon alone also moves when the connector writes).
        ColumnDef("dms_syncedoptedin", Kind.BOOLEAN, "Opted In At Last Sync"),
    ),
)

TABLES: tuple[TableDefinition, ...] = (
    EMAIL_SUPPRESSION,
    LIST_UNSUBSCRIBER,
    MARKETING_PREFERENCE,
    MARKETING_PREFERENCE_SUBSCRIPTION,
    *ENGAGEMENT_TABLES,
    *ADOBE_ACTIVITY_TABLES,
)

COLUMN_ADDITIONS: tuple[ColumnAddition, ...] = (
    ColumnAddition("list", EMAIL_ACCOUNT),
    ColumnAddition(
        "list",
        ColumnDef(
            "dms_emailactivated",
            Kind.BOOLEAN,
            "Email Activated",
            "Whether this marketing list syncs with its email account's address book.",
        ),
    ),
    ColumnAddition(
        "list",
        ColumnDef(
            "dms_membershipaction",
            Kind.PICKLIST,
            "Membership Action",
            "What happens to address book members that are not in this marketing list.",
            options=tuple(Option(action.value, action.label) for action in MembershipAction),
        ),
    ),
    ColumnAddition("contact", OPT_IN_TYPE),
    ColumnAddition("lead", OPT_IN_TYPE),
    ColumnAddition("account", OPT_IN_TYPE),
    *SCORE_ADDITIONS,
)
