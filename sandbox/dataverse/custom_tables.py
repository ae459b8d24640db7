"""A customer's own custom tables (publisher prefix `new_`), as an org that syncs custom
entities to Adobe Campaign has them: `new_loyaltycard` with change tracking on (a lookup to its
contact), `new_visitlog` with it off (what the connector must refuse to map)."""

from __future__ import annotations

from dataclasses import replace

from sandbox.dataverse.schema import ACTIVE_INACTIVE, Column, Lookup, TableDef, common_columns


def _common(primary_id: str) -> list[Column]:
    return [
        *common_columns(primary_id),
        Column("new_name", "string", 100),
        Column("statecode", "state"),
        Column("statuscode", "status"),
    ]


LOYALTY_CARD = TableDef(
    logical_name="new_loyaltycard",
    entity_set="new_loyaltycards",
    primary_id="new_loyaltycardid",
    primary_name="new_name",
    columns={
        c.name: c
        for c in (
            *_common("new_loyaltycardid"),
            Column("new_tier", "string", 50),
            Column("new_points", "int"),
            Column("new_contactid", "lookup"),
        )
    },
    states=dict(ACTIVE_INACTIVE),
    default_status={0: 1, 1: 2},
    lookups={"new_contactid": Lookup("new_contactid", "new_contactid", "contact")},
    change_tracking=True,
    bulk_messages=False,
    display=("Loyalty Card", "Loyalty Cards"),
)

VISIT_LOG = TableDef(
    logical_name="new_visitlog",
    entity_set="new_visitlogs",
    primary_id="new_visitlogid",
    primary_name="new_name",
    columns={c.name: c for c in (*_common("new_visitlogid"), Column("new_visitedon", "datetime"))},
    states=dict(ACTIVE_INACTIVE),
    default_status={0: 1, 1: 2},
    change_tracking=False,
    bulk_messages=False,
    display=("Visit Log", "Visit Logs"),
)


def custom_tables() -> dict[str, TableDef]:
    return {
        t.logical_name: replace(t, columns=dict(t.columns), lookups=dict(t.lookups))
        for t in (LOYALTY_CARD, VISIT_LOG)
    }
