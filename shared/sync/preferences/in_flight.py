"""The unit a MarketingPreferences run is writing (the preference rows, a chunk of contacts'
platform preferences, a `$batch` of subscription rows), saved before its writes.

A continuation plans again and finds done what was written, so a unit whose worker died after
writing would otherwise go uncounted. The unit's intent (the counts it sets out to make and a
short digest of each item) is checkpointed first; the next slice takes the items of its new
plan that belong to that unit (what is still to do), writes them, and counts the unit as
intended less what those writes did not do: the counts of a run nobody killed.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from shared.sync.preferences.plan import Plan

T = TypeVar("T")
Kind = Literal["preferences", "platform", "rows"]


class UnitPlan(BaseModel):
    kind: Kind
    keys: list[str]  # a short digest of each item (10 hex characters: the cursor stays small)
    counts: dict[str, int]  # cursor counter -> planned


def key(kind: Kind, item: Any) -> str:
    """An item's identity across plans: the preference row, the contact, the (record,
    preference) of a subscription row."""
    if kind == "preferences":
        text = str(item[0].url)
    elif kind == "platform":
        text = str(item.email).lower()
    else:
        text = f"{item.record[0]}|{item.record[1]}|{item.preference.id}"
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def planned(kind: Kind, items: list[Any]) -> dict[str, int]:
    """What the unit counts if every write succeeds."""
    if kind == "preferences":
        created = sum(1 for _, is_new in items if is_new)
        return {"preferences_created": created, "preferences_updated": len(items) - created}
    if kind == "platform":
        return {"contacts_set": len(items)}
    created = sum(1 for write in items if write.created)
    return {"rows_created": created, "rows_updated": len(items) - created}


def take(plan: Plan, unit: UnitPlan) -> list[Any]:
    """The items of `plan` that belong to `unit` (removed from the plan): what is left of it."""
    keys = set(unit.keys)

    def split(items: list[T]) -> list[T]:
        mine = [item for item in items if key(unit.kind, item) in keys]
        items[:] = [item for item in items if key(unit.kind, item) not in keys]
        return mine

    if unit.kind == "preferences":
        return split(plan.preferences)
    if unit.kind == "platform":
        return split(plan.platform)
    return split(plan.rows)


def settle(intended: dict[str, int], meant: dict[str, int], done: dict[str, int]) -> dict[str, int]:
    """The unit's counts: as intended, less what this attempt meant to do and did not."""
    return {k: intended.get(k, 0) - (meant.get(k, 0) - done.get(k, 0))
            for k in intended.keys() | meant.keys()}  # fmt: skip
