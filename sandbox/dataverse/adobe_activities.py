"""The connector's Adobe Campaign email event activity tables as an org has them once provisioned
(the mirror of shared/dynamics_schema/adobe_activities.py): activitypointer's columns plus the
connector's, change tracking on as the provisioning creates them."""

from __future__ import annotations

from dataclasses import replace

from sandbox.dataverse.schema import Column, TableDef, activity_table

_EVENTS = (
    ("send", "Send", "dms_senton"),
    ("open", "Open", "dms_openedon"),
    ("click", "URL Click", "dms_clickedon"),
    ("bounce", "Bounce", "dms_bouncedon"),
)


def adobe_activity_tables(account: Column) -> list[TableDef]:
    tables = []
    for name, label, date_column in _EVENTS:
        extra = [
            Column("dms_campaignname", "string", 200),
            Column("dms_deliveryname", "string", 200),
            Column(date_column, "datetime"),
            *([Column("dms_trackingurl", "string", 2000)] if name == "click" else []),
            Column("dms_mirrorpageurl", "string", 2000),
            Column("dms_eventid", "string", 100),
            account,
        ]
        logical = f"dms_acsemail{name}"
        table = activity_table(logical, extra=tuple(extra))
        tables.append(
            replace(
                table,
                change_tracking=True,
                display=(f"Adobe Campaign Email {label}", f"Adobe Campaign Email {label}s"),
            )
        )
    return tables
