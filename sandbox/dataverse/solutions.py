"""Publishers and solutions in the Dataverse sandbox: the `publishers` and `solutions` tables
(read and created through the normal Web API), the org's default publisher, and the solution
components each metadata write adds (`state.solution_components`).

Sources: PAD `webapi/web-api-metadata-operations-sample.md` (section 0 creates a publisher
with `customizationprefix` / `customizationoptionvalueprefix`, then a solution bound to it
with `publisherid@odata.bind`); `solutions-overview.md` (every component carries its
publisher's customization prefix).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from sandbox.dataverse.schema import Column, Lookup, TableDef

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

# Every org has a default publisher; Dataverse gives it a random prefix (`cr8a3`), the
# sandbox a fixed one so a test can name it.
DEFAULT_PUBLISHER = "DefaultPublisher"
DEFAULT_PREFIX = "new"

# What `python -m shared dataverse provision` creates (shared/settings.py and
# shared/pipeline/provisioning.py name the same values); the installed sandbox has them.
CONNECTOR_PUBLISHER = "dynamicsmarketingsync"
CONNECTOR_PREFIX = "dms"
CONNECTOR_SOLUTION = "DynamicsMarketingSync"

PUBLISHER = TableDef(
    logical_name="publisher",
    entity_set="publishers",
    primary_id="publisherid",
    primary_name="friendlyname",
    columns={
        c.name: c
        for c in (
            Column("publisherid", "guid"),
            Column("createdon", "datetime", read_only=True),
            Column("modifiedon", "datetime", read_only=True),
            Column("versionnumber", "bigint", read_only=True),
            Column("uniquename", "string", 256),
            Column("friendlyname", "string", 256),
            Column("customizationprefix", "string", 8),
            Column("customizationoptionvalueprefix", "int"),
            Column("description", "memo", 2000),
        )
    },
    alternate_keys=(("uniquename",),),
    change_tracking=False,
    bulk_messages=False,
)

SOLUTION = TableDef(
    logical_name="solution",
    entity_set="solutions",
    primary_id="solutionid",
    primary_name="friendlyname",
    columns={
        c.name: c
        for c in (
            Column("solutionid", "guid"),
            Column("createdon", "datetime", read_only=True),
            Column("modifiedon", "datetime", read_only=True),
            Column("versionnumber", "bigint", read_only=True),
            Column("uniquename", "string", 65),
            Column("friendlyname", "string", 256),
            Column("version", "string", 256),
            Column("ismanaged", "bool", read_only=True),
            Column("description", "memo", 2000),
            Column("publisherid", "lookup"),
        )
    },
    alternate_keys=(("uniquename",),),
    lookups={"publisherid": Lookup("publisherid", "publisherid", "publisher")},
    change_tracking=False,
    bulk_messages=False,
)


def solution_tables() -> dict[str, TableDef]:
    return {t.logical_name: replace(t, columns=dict(t.columns)) for t in (PUBLISHER, SOLUTION)}


def _row_id(table: str, unique_name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox.dataverse/{table}/{unique_name}"))


def add_publisher(state: DataverseState, unique_name: str, prefix: str, option_prefix: int) -> str:
    return state.insert(
        "publisher",
        {
            # An explicit id: seeding must not draw from the state's RNG (row ids stay stable).
            "publisherid": _row_id("publisher", unique_name),
            "uniquename": unique_name,
            "friendlyname": unique_name,
            "customizationprefix": prefix,
            "customizationoptionvalueprefix": option_prefix,
        },
    )


def add_solution(state: DataverseState, unique_name: str, publisher_id: str) -> str:
    return state.insert(
        "solution",
        {
            "solutionid": _row_id("solution", unique_name),
            "uniquename": unique_name,
            "friendlyname": unique_name,
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher_id})",
        },
    )


def seed_solutions(state: DataverseState, *, connector: bool) -> None:
    """The default publisher; with the connector's solution installed, its publisher and
    solution too (the sandbox's stand-in for a provisioned org)."""
    add_publisher(state, DEFAULT_PUBLISHER, DEFAULT_PREFIX, 10000)
    if connector:
        publisher = add_publisher(state, CONNECTOR_PUBLISHER, CONNECTOR_PREFIX, 72700)
        add_solution(state, CONNECTOR_SOLUTION, publisher)


def solution_prefix(state: DataverseState, unique_name: str) -> str | None:
    """The customization prefix of the solution's publisher, or None without that solution."""
    row = state.tables["solution"].by_key(("uniquename",), (unique_name,))
    if row is None:
        return None
    publisher_id = row.values.get("publisherid")
    publisher = state.tables["publisher"].get(publisher_id[0]) if publisher_id else None
    return None if publisher is None else str(publisher.values.get("customizationprefix"))


def all_prefixes(state: DataverseState) -> set[str]:
    return {
        str(row.values.get("customizationprefix"))
        for row in state.tables["publisher"].rows.values()
    }
