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


def check_column(rt: Runtime, dynamics_table: str, path: str) -> None:
    """A column of the table, or a path whose first step is one of its lookups (the linked
    tables' columns are not checked here)."""
    found = columns(rt, dynamics_table)
    first, _, rest = path.partition(".")
    if first not in found:
        raise UnknownColumn(f"'{first}' is not a column of the Dynamics table '{dynamics_table}'.")
    if rest and found[first] not in LOOKUP_TYPES:
        raise UnknownColumn(
            f"'{path}' reads a linked record through '{first}', which is not a lookup "
            f"({found[first]}) of '{dynamics_table}'."
        )
