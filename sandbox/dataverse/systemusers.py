"""The org's users (`systemuser`): who a row was created by, and whom user mapping pairs with a
platform user. The Web API reads them as `GET systemusers?$select=systemuserid,fullname,
internalemailaddress,isdisabled`; a request may act on behalf of one with the documented
`MSCRMCallerID` header (impersonation), which then becomes the `createdby` of the rows it
creates. Seeded: the sandbox's application user, the CRM user whose edits go through the state
(`CRM_USER_ID`), two more people and a disabled one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.dataverse.schema import Column, TableDef

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

SYSTEMUSER = TableDef(
    logical_name="systemuser",
    entity_set="systemusers",
    primary_id="systemuserid",
    primary_name="fullname",
    columns={
        c.name: c
        for c in (
            Column("systemuserid", "guid"),
            Column("createdon", "datetime", read_only=True),
            Column("modifiedon", "datetime", read_only=True),
            Column("versionnumber", "bigint", read_only=True),
            Column("fullname", "string", 200),
            Column("internalemailaddress", "string", 100),
            Column("isdisabled", "bool"),
            # An application user's app registration (client id); empty for people.
            Column("applicationid", "guid"),
        )
    },
)

# Ids of the seeded people: tests and the demo map them by these.
SALES_USER_ID = "7a1c3e52-0d4b-4f6a-9e21-5c8b0f3d2a11"
SUPPORT_USER_ID = "7a1c3e52-0d4b-4f6a-9e21-5c8b0f3d2a12"
DISABLED_USER_ID = "7a1c3e52-0d4b-4f6a-9e21-5c8b0f3d2a13"


def seed_users(state: DataverseState) -> None:
    from sandbox.dataverse.records import SANDBOX_USER_ID
    from sandbox.dataverse.rowview import SANDBOX_USER_NAME
    from sandbox.dataverse.webhooks import CRM_USER_ID

    people = (
        (SANDBOX_USER_ID, SANDBOX_USER_NAME, "", False),
        (CRM_USER_ID, "Dana Crm", "dana.crm@example.com", False),
        (SALES_USER_ID, "Sam Sales", "sam.sales@example.com", False),
        (SUPPORT_USER_ID, "Pat Support", "pat.support@example.com", False),
        (DISABLED_USER_ID, "Lee Former", "lee.former@example.com", True),
    )
    table = state.tables.get("systemuser")
    if table is None:
        return
    for user_id, name, email, disabled in people:
        state.insert(
            "systemuser",
            {"systemuserid": user_id, "fullname": name, "internalemailaddress": email or None,
             "isdisabled": disabled},
        )  # fmt: skip


def caller_of(state: DataverseState, header: str | None, app_user: str) -> str | None:
    """Who a request acts as: the `MSCRMCallerID` user if given (None: no such user), else the
    calling app's application user."""
    if not header:
        return app_user
    user_id = header.strip().strip("{}").lower()
    table = state.tables.get("systemuser")
    if table is None or table.get(user_id) is None:
        return None
    return user_id
