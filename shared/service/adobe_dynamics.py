"""The Dynamics side of an Adobe Campaign mapping, checked through the Dataverse metadata before
it is saved: the table exists and has change tracking on (the ingress reads its changes
through it), the columns exist, a linked column goes through a lookup."""

from __future__ import annotations

from shared.clients.dataverse.metadata import LOOKUP_TYPES, TableInfo
from shared.errors import BadInputError, NotFoundError
from shared.runtime import Runtime


class DynamicsTableNotFound(NotFoundError):
    pass


class NoChangeTracking(BadInputError):
    pass


class UnknownColumn(BadInputError):
    pass


def table_info(rt: Runtime, dynamics_table: str) -> TableInfo:
    info = rt.dataverse().table_info(dynamics_table)
    if info is None:
        raise DynamicsTableNotFound(
            f"Dynamics has no table '{dynamics_table}' (give its logical name, e.g. "
            "new_loyaltycard)."
        )
    if not info.change_tracking:
        raise NoChangeTracking(
            f"The Dynamics table '{dynamics_table}' does not have change tracking enabled, and "
            "the Adobe Campaign sync reads its changes through it: turn on Track changes in "
            "the table's properties (Power Apps > Tables > Properties > Advanced options), "
            "then add the mapping again."
        )
    return info


def columns(rt: Runtime, dynamics_table: str) -> dict[str, str]:
    """Column logical name -> AttributeType."""
    return {
        a.logical_name: a.attribute_type for a in rt.dataverse().entity_attributes(dynamics_table)
    }


def check_column(rt: Runtime, dynamics_table: str, path: str) -> str:
    """A column of the table, or a path through lookups (`parentcustomerid.name`): each step a
    lookup of the table(s) before it, the last a column of one of the tables it reaches (a
    polymorphic lookup such as parentcustomerid reaches account and contact). Answers the last
    column's AttributeType."""
    steps = path.split(".")
    tables = [dynamics_table]
    for depth, step in enumerate(steps):
        found = {table: columns(rt, table) for table in tables}
        holders = [table for table in tables if step in found[table]]
        if not holders:
            names = " or ".join(f"'{t}'" for t in tables)
            raise UnknownColumn(f"'{step}' is not a column of the Dynamics table {names}.")
        if depth == len(steps) - 1:
            return found[holders[0]][step]
        lookups = [table for table in holders if found[table][step] in LOOKUP_TYPES]
        if not lookups:
            kind = found[holders[0]][step]
            raise UnknownColumn(
                f"'{path}' reads a linked record through '{step}', which is not a lookup "
                f"({kind}) of '{holders[0]}'."
            )
        targets = rt.dataverse().lookup_targets
        tables = sorted({t for table in lookups for t in targets(table).get(step, ())})
        if not tables:
            raise UnknownColumn(f"'{step}' of '{lookups[0]}' points to no table.")
    raise ValueError("a column path has at least one step")
