"""The three-way merge of one list member's mapped fields: what the platform holds now (p),
what Dynamics holds now (c), and what both last agreed on (s, the member snapshot).

Per field: p == s -> the platform did not change it, nothing to do; p != s and c == s -> only
the platform changed it, write p to Dynamics; both changed to the same value -> just record
the agreement; both changed differently -> the most recent change wins. Neither API dates a
single field: Dotdigital gives the contact's `updated`, Dataverse the record's `modifiedon`, so
a field's change time is its record's, and a tie goes to Dynamics. A Dynamics win is left for
MarketingListsDataOut, which pushes it.

A field with no agreed value yet (a `ToDynamics` mapping, which DataOut never sends, or a
mapping added since the last push) is treated as changed on both sides, except that an empty
platform value then says nothing and never clears Dynamics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.mappings.model import DataMapping
from shared.storage.data_labels_repo import DataLabel, label_key
from shared.sync.marketing_lists.data_in_values import canonical, same, to_crm
from shared.sync.marketing_lists.values import platform_values


@dataclass(frozen=True)
class InboundField:
    """A mapped field whose platform value is written to Dynamics."""

    mapping: DataMapping
    label: DataLabel
    attribute_type: str  # the CRM column's type; "" if CrmMetadata has not stored it

    @property
    def name(self) -> str:
        return self.label.name

    @property
    def column(self) -> str:
        return self.mapping.primary_field

    @property
    def in_snapshot(self) -> bool:
        """Both directions: DataOut sends it, so the snapshot holds its agreed value."""
        return self.mapping.direction.to_platform

    def platform_form(self, record: Mapping[str, Any]) -> Any:
        """The CRM value as DataOut would send it (label type, label default)."""
        labels = {label_key(self.label.name): self.label}
        return platform_values(record, [self.mapping], labels)[self.label.name]


@dataclass
class MemberPlan:
    writes: dict[str, Any] = field(default_factory=dict)  # CRM column -> value
    # Label -> the value both sides hold once the writes are done (snapshot fields only).
    agreed: dict[str, Any] = field(default_factory=dict)


def platform_wins(updated: datetime | None, modified: datetime | None) -> bool:
    """The platform's change is the more recent one (ties and unknowns go to Dynamics)."""
    return updated is not None and (modified is None or updated > modified)


def plan_member(
    fields: Sequence[InboundField],
    platform: Mapping[str, Any],
    synced: Mapping[str, Any],
    record: Mapping[str, Any],
    *,
    platform_updated: datetime | None,
    crm_modified: datetime | None,
) -> MemberPlan:
    """What to write to the CRM record. `platform` is keyed by `label_key`; `synced` by label
    name. Raises ValueError when a platform value does not fit its CRM column."""
    plan = MemberPlan()
    newer = platform_wins(platform_updated, crm_modified)
    for inbound in fields:
        kind = inbound.label.type
        p = platform.get(label_key(inbound.name))
        c = inbound.platform_form(record)
        known = inbound.in_snapshot and inbound.name in synced
        s = synced.get(inbound.name) if known else None
        if known and same(p, s, kind):
            continue  # the platform did not change it
        if not known and canonical(p, kind) is None:
            continue  # no agreed value and an empty platform one: nothing to go on
        if same(p, c, kind):
            if inbound.in_snapshot:
                plan.agreed[inbound.name] = c
            continue
        only_platform_changed = known and same(c, s, kind)
        if not (only_platform_changed or newer):
            continue  # Dynamics' change is the more recent: DataOut pushes it
        try:
            value = to_crm(p, inbound.attribute_type, kind)
        except ValueError as error:
            raise ValueError(f"{inbound.name}: {error}") from None
        if same(value, record.get(inbound.column), kind):
            continue  # Dynamics holds it already (only a label default told them apart)
        plan.writes[inbound.column] = value
        if inbound.in_snapshot:
            plan.agreed[inbound.name] = inbound.platform_form({**record, inbound.column: value})
    return plan
