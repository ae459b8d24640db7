"""Webhook registration tables of the Dataverse sandbox: `serviceendpoints`, `sdkmessages`,
`sdkmessagefilters`, `sdkmessageprocessingsteps` and `sdkmessageprocessingstepimages`, read
and written through the normal Web API, with the org's messages and filters seeded.

Sources (../shared/reference/dataverse.md §7): PAD `register-web-hook.md`,
`reference/entities/serviceendpoint.md` (contract 8 = Webhook; authtype 4 WebhookKey,
5 HttpHeader, 6 HttpQueryString; messageformat 2 Json; `authvalue` write-only),
`reference/entities/sdkmessageprocessingstep.md` (mode 0 Sync / 1 Async; stage 10 / 20 / 40;
`filteringattributes`; the event handler lookup `eventhandler_serviceendpoint`).
Associate and Disassociate are registered without a primary table (filter `none`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from sandbox.dataverse.odata import ODataError
from sandbox.dataverse.schema import Column, Lookup, TableDef

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

# The messages the sandbox can post for (sdkmessage.name).
MESSAGES = ("Create", "Update", "Delete", "Associate", "Disassociate")
RELATIONSHIP_MESSAGES = ("Associate", "Disassociate")
NO_TABLE = "none"  # primaryobjecttypecode of the relationship messages' filter

CONTRACT_WEBHOOK = 8
AUTH_WEBHOOK_KEY, AUTH_HTTP_HEADER, AUTH_HTTP_QUERY_STRING = 4, 5, 6
MESSAGE_FORMAT_JSON = 2
MODE_SYNC, MODE_ASYNC = 0, 1
STAGE_PRE_VALIDATION, STAGE_PRE_OPERATION, STAGE_POST_OPERATION = 10, 20, 40
IMAGE_PRE, IMAGE_POST, IMAGE_BOTH = 0, 1, 2


def _table(
    logical_name: str,
    primary_name: str,
    *columns: Column,
    lookups: dict[str, Lookup] | None = None,
    states: dict[int, tuple[int, ...]] | None = None,
) -> TableDef:
    primary_id = f"{logical_name}id"
    common = (
        Column(primary_id, "guid"),
        Column("createdon", "datetime", read_only=True),
        Column("modifiedon", "datetime", read_only=True),
        Column("versionnumber", "bigint", read_only=True),
    )
    return TableDef(
        logical_name=logical_name,
        entity_set=logical_name + "s",
        primary_id=primary_id,
        primary_name=primary_name,
        columns={c.name: c for c in (*common, *columns)},
        lookups=lookups or {},
        states=states or {},
        default_status={state: codes[0] for state, codes in (states or {}).items()},
        change_tracking=False,
        bulk_messages=False,
    )


SERVICEENDPOINT = _table(
    "serviceendpoint",
    "name",
    Column("name", "string", 256),
    Column("description", "memo", 2000),
    Column("contract", "picklist"),
    Column("authtype", "picklist"),
    # IsValidForRead False: stored, never returned by a read (`auth_value` reads it).
    Column("authvalue", "string", 2048, write_only=True),
    Column("url", "string", 2000),
    Column("messageformat", "picklist"),
    Column("userclaim", "picklist"),
)

SDKMESSAGE = _table("sdkmessage", "name", Column("name", "string", 256))

SDKMESSAGEFILTER = _table(
    "sdkmessagefilter",
    "primaryobjecttypecode",
    Column("primaryobjecttypecode", "string", 128),
    Column("secondaryobjecttypecode", "string", 128),
    Column("iscustomprocessingstepallowed", "bool"),
    Column("sdkmessageid", "lookup"),
    lookups={"sdkmessageid": Lookup("sdkmessageid", "sdkmessageid", "sdkmessage")},
)

SDKMESSAGEPROCESSINGSTEP = _table(
    "sdkmessageprocessingstep",
    "name",
    Column("name", "string", 256),
    Column("description", "memo", 256),
    Column("mode", "picklist"),
    Column("stage", "picklist"),
    Column("rank", "int"),
    Column("filteringattributes", "memo", 100_000),
    Column("supporteddeployment", "picklist"),
    Column("asyncautodelete", "bool"),
    Column("statecode", "state"),
    Column("statuscode", "status"),
    Column("sdkmessageid", "lookup"),
    Column("sdkmessagefilterid", "lookup"),
    Column("eventhandler", "lookup"),
    lookups={
        "sdkmessageid": Lookup("sdkmessageid", "sdkmessageid", "sdkmessage"),
        "sdkmessagefilterid": Lookup(
            "sdkmessagefilterid", "sdkmessagefilterid", "sdkmessagefilter"
        ),
        "eventhandler_serviceendpoint": Lookup(
            "eventhandler_serviceendpoint", "eventhandler", "serviceendpoint"
        ),
    },
    states={0: (1,), 1: (2,)},  # Enabled, Disabled
)

SDKMESSAGEPROCESSINGSTEPIMAGE = _table(
    "sdkmessageprocessingstepimage",
    "name",
    Column("name", "string", 256),
    Column("entityalias", "string", 256),
    Column("imagetype", "picklist"),
    Column("messagepropertyname", "string", 256),
    Column("attributes", "memo", 100_000),
    Column("sdkmessageprocessingstepid", "lookup"),
    lookups={
        "sdkmessageprocessingstepid": Lookup(
            "sdkmessageprocessingstepid", "sdkmessageprocessingstepid", "sdkmessageprocessingstep"
        )
    },
)


def registration_tables() -> dict[str, TableDef]:
    return {
        t.logical_name: replace(t, columns=dict(t.columns), lookups=dict(t.lookups))
        for t in (
            SERVICEENDPOINT,
            SDKMESSAGE,
            SDKMESSAGEFILTER,
            SDKMESSAGEPROCESSINGSTEP,
            SDKMESSAGEPROCESSINGSTEPIMAGE,
        )
    }


def auth_value(state: DataverseState, endpoint_id: str) -> str | None:
    """The stored `authvalue` of a service endpoint, which the Web API never returns."""
    with state.lock:
        row = state.tables["serviceendpoint"].get(endpoint_id)
        value = None if row is None else row.values.get("authvalue")
    return None if value is None else str(value)


# The registration tables an app user without System Customizer cannot write, by schema name.
_PRIVILEGE_TABLES = {
    "serviceendpoint": "ServiceEndpoint",
    "sdkmessageprocessingstep": "SdkMessageProcessingStep",
    "sdkmessageprocessingstepimage": "SdkMessageProcessingStepImage",
}
_PRIVILEGE_VERBS = {"POST": "Create", "PATCH": "Write", "DELETE": "Delete"}
MISSING_PRIVILEGE = "0x80040220"


def check_privilege(state: DataverseState, logical_name: str, method: str) -> None:
    """`state.deny_customization` (no System Customizer role) also refuses registration
    writes, with Dataverse's missing-privilege error."""
    schema = _PRIVILEGE_TABLES.get(logical_name)
    verb = _PRIVILEGE_VERBS.get(method)
    if state.deny_customization and schema and verb:
        raise ODataError(
            403,
            MISSING_PRIVILEGE,
            f"Principal user (Id={state.first_app_user_id()}, type=8) is missing "
            f"prv{verb}{schema} privilege.",
        )


def message_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox.dataverse/sdkmessage/{name}"))


def filter_id(message: str, table: str) -> str:
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox.dataverse/sdkmessagefilter/{message}/{table}")
    )


def seed_messages(state: DataverseState) -> None:
    """The messages, a filter per (Create / Update / Delete, table) for every table the org has
    now, and one `none` filter per relationship message. Explicit ids: seeding must not draw
    from the state's RNG."""
    registration = set(registration_tables())
    tables = sorted(name for name in state.tables if name not in registration)
    for name in MESSAGES:
        state.insert("sdkmessage", {"sdkmessageid": message_id(name), "name": name})
        targets = [NO_TABLE] if name in RELATIONSHIP_MESSAGES else tables
        for table in targets:
            state.insert(
                "sdkmessagefilter",
                {
                    "sdkmessagefilterid": filter_id(name, table),
                    "primaryobjecttypecode": table,
                    "secondaryobjecttypecode": "none",
                    "iscustomprocessingstepallowed": True,
                    "sdkmessageid@odata.bind": f"/sdkmessages({message_id(name)})",
                },
            )
