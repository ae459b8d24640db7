"""What the connector adds to Dynamics, as data. Publisher prefix `dms_` (Dynamics Marketing
Sync) everywhere. The marketing list (`list`) carries three connector columns:

- `dms_emailaccountid` (text): the id of the email account the list syncs with;
- `dms_emailactivated` (yes/no): whether the list syncs at all;
- `dms_membershipaction` (choice): what happens to members that only one side has.

The connector's own tables (email suppressions, list unsubscribers, marketing preferences and
their subscriptions) and the opt-in type column are in `connector.py`; campaigns, behaviour,
sends, forms and the scoring columns in `engagement.py`.
"""

from __future__ import annotations

from shared.dynamics_schema.connector import (
    COLUMN_ADDITIONS,
    EMAIL_SUPPRESSION,
    LIST_UNSUBSCRIBER,
    MARKETING_PREFERENCE,
    MARKETING_PREFERENCE_SUBSCRIPTION,
    OPT_IN_TYPE,
    OPT_IN_TYPES,
    RESUBSCRIPTION_STATUSES,
    SUPPRESSION_SOURCES,
    TABLES,
)
from shared.dynamics_schema.membership import MembershipAction
from shared.dynamics_schema.model import (
    ColumnAddition,
    ColumnDef,
    Kind,
    Option,
    TableDefinition,
)

PREFIX = "dms_"
LIST_EMAIL_ACCOUNT = "dms_emailaccountid"
LIST_EMAIL_ACTIVATED = "dms_emailactivated"
LIST_MEMBERSHIP_ACTION = "dms_membershipaction"
LIST_CONNECTOR_COLUMNS = (LIST_EMAIL_ACCOUNT, LIST_EMAIL_ACTIVATED, LIST_MEMBERSHIP_ACTION)

__all__ = [
    "COLUMN_ADDITIONS",
    "EMAIL_SUPPRESSION",
    "LIST_CONNECTOR_COLUMNS",
    "LIST_EMAIL_ACCOUNT",
    "LIST_EMAIL_ACTIVATED",
    "LIST_MEMBERSHIP_ACTION",
    "LIST_UNSUBSCRIBER",
    "MARKETING_PREFERENCE",
    "MARKETING_PREFERENCE_SUBSCRIPTION",
    "OPT_IN_TYPE",
    "OPT_IN_TYPES",
    "PREFIX",
    "RESUBSCRIPTION_STATUSES",
    "SUPPRESSION_SOURCES",
    "TABLES",
    "ColumnAddition",
    "ColumnDef",
    "Kind",
    "MembershipAction",
    "Option",
    "TableDefinition",
]
