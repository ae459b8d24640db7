"""How the Dataverse sandbox writes out a row for a read: formatted values and lookup
annotations (`select-columns.md`: each annotation just before its property) and expanded
lookups (`join-tables.md`: the selected columns and the primary key, no ETag; null when the
lookup is empty or points at another table). Labels are the English ones the entity
references list; the sandbox user's time zone is UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.dataverse.query import FORMATTED, LOGICAL_NAME, NAVIGATION, Expansion
from sandbox.dataverse.records import Records
from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.store import Row

# (logical name, id) -> the row, if it exists
Finder = Callable[[str, str], Row | None]

# Formatted values ------------------------------------------------------------------------------

_ALLOW = {True: "Do Not Allow", False: "Allow"}
_BOOL_LABELS: dict[str, dict[bool, str]] = {
    **{
        name: _ALLOW
        for name in ("donotbulkemail", "donotemail", "donotphone", "donotpostalmail", "donotfax")
    },
    "type": {False: "Static", True: "Dynamic"},
    "directioncode": {False: "Incoming", True: "Outgoing"},
}
_ACTIVE = {0: "Active", 1: "Inactive"}
_ACTIVITY_STATE = {0: "Open", 1: "Completed", 2: "Canceled"}
_DEFAULT_STATES = {0: "Active", 1: "Inactive"}
_STATE_LABELS: dict[str, dict[int, str]] = {
    "contact": _ACTIVE,
    "account": _ACTIVE,
    "list": _ACTIVE,
    "lead": {0: "Open", 1: "Qualified", 2: "Disqualified"},
    "task": _ACTIVITY_STATE,
    "phonecall": _ACTIVITY_STATE,
}
_STATUS_LABELS: dict[str, dict[int, str]] = {
    "contact": {1: "Active", 2: "Inactive"},
    "account": {1: "Active", 2: "Inactive"},
    "list": {0: "Active", 1: "Inactive"},
    "lead": {
        1: "New",
        2: "Contacted",
        3: "Qualified",
        4: "Lost",
        5: "Cannot Contact",
        6: "No Longer Interested",
        7: "Canceled",
    },
    "task": {
        2: "Not Started",
        3: "In Progress",
        4: "Waiting on someone else",
        5: "Completed",
        6: "Canceled",
        7: "Deferred",
    },
    "phonecall": {1: "Open", 2: "Made", 3: "Canceled", 4: "Received"},
}
_PICKLIST_LABELS: dict[str, dict[int, str]] = {
    "createdfromcode": {1: "Account", 2: "Contact", 4: "Lead"},
    "gendercode": {1: "Male", 2: "Female"},
    "prioritycode": {0: "Low", 1: "Normal", 2: "High"},
    "leadsourcecode": {
        1: "Advertisement",
        2: "Employee Referral",
        3: "External Referral",
        4: "Partner",
        5: "Public Relations",
        6: "Seminar",
        7: "Trade Show",
        8: "Web",
        9: "Word of Mouth",
        10: "Other",
    },
}
_MONEY = frozenset({"revenue", "annualincome"})  # Currency columns in Dataverse
_DATE_ONLY = frozenset({"birthdate"})
SANDBOX_USER_NAME = "Sandbox Application User"


def _date_text(value: str, date_only: bool) -> str:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))  # the user's zone is UTC
    day = f"{moment.month}/{moment.day}/{moment.year}"
    if date_only:
        return day
    hour = moment.hour % 12 or 12
    return f"{day} {hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


@dataclass
class RowView:
    """How rows are written out: expansions and annotations on top of the selected columns."""

    expansions: list[Expansion] = field(default_factory=list)
    annotations: frozenset[str] = frozenset()
    primary_names: dict[str, str] = field(default_factory=dict)  # logical name -> name column

    def render(
        self,
        definition: TableDef,
        row: Row,
        select: list[str],
        plain: dict[str, Any],
        find: Finder,
    ) -> dict[str, Any]:
        """`plain` is the row as serialised without annotations (ETag, columns, primary key)."""
        if not self.annotations and not self.expansions:
            return plain
        out: dict[str, Any] = {}
        for name, value in plain.items():
            if self.annotations and value is not None and not name.startswith("@"):
                out.update(self._annotations(definition, row, name, value, find))
            out[name] = value
        for expansion in self.expansions:
            out[expansion.navigation] = self._expanded(row, expansion, find)
        return out

    def _annotations(
        self,
        definition: TableDef,
        row: Row,
        name: str,
        value: Any,
        find: Finder,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        column_name = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
        column = definition.columns.get(column_name)
        if column is None:
            return out
        if FORMATTED in self.annotations:
            text = self._formatted(
                self.primary_names, definition, row, column_name, column.kind, value, find
            )
            if text is not None:
                out[f"{name}@{FORMATTED}"] = text
        if column.kind == "lookup":
            reference = row.values.get(column_name)
            target = reference[1] if isinstance(reference, tuple) else None
            navigation = next(
                (
                    lookup.navigation
                    for lookup in definition.lookups.values()
                    if lookup.column == column_name and lookup.target == target
                ),
                column_name,
            )
            if NAVIGATION in self.annotations:
                out[f"{name}@{NAVIGATION}"] = navigation
            if LOGICAL_NAME in self.annotations and target:
                out[f"{name}@{LOGICAL_NAME}"] = target
        return out

    @staticmethod
    def _formatted(
        names: dict[str, str],
        definition: TableDef,
        row: Row,
        name: str,
        kind: str,
        value: Any,
        find: Finder,
    ) -> str | None:
        logical = definition.logical_name
        if kind == "bool":
            return _BOOL_LABELS.get(name, {True: "Yes", False: "No"})[bool(value)]
        if kind == "state":
            # Tables without labels of their own (custom tables) have the default two states.
            return _STATE_LABELS.get(logical, _DEFAULT_STATES).get(value, str(value))
        if kind == "status":
            return _STATUS_LABELS.get(logical, {}).get(value, str(value))
        if kind == "picklist":
            return _PICKLIST_LABELS.get(name, {}).get(value, str(value))
        if kind in ("int", "bigint"):
            return f"{value:,}"
        if kind == "decimal":
            return f"${value:,.2f}" if name in _MONEY else f"{value:,.2f}"
        if kind == "datetime":
            return _date_text(value, name in _DATE_ONLY)
        if kind == "lookup":
            reference = row.values.get(name)
            if not isinstance(reference, tuple):
                return None
            target_id, target = reference
            if target == "systemuser":
                return SANDBOX_USER_NAME
            related = find(target, target_id)
            return None if related is None else related.values.get(names.get(target, ""))
        return None  # text and ids have no formatted value

    @staticmethod
    def _expanded(row: Row, expansion: Expansion, find: Finder) -> dict[str, Any] | None:
        reference = row.values.get(expansion.column)
        if not isinstance(reference, tuple) or reference[1] != expansion.target.logical_name:
            return None
        related = find(expansion.target.logical_name, reference[0])
        if related is None:
            return None
        target = expansion.target
        names = list(expansion.select) or target.readable()
        out: dict[str, Any] = {}
        for name in names:
            out[name] = Records.read(target, related, name)
        out.setdefault(target.primary_id, related.id)
        return out
