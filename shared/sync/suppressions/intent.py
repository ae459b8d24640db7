"""A page's planned counts, checkpointed before its writes, so that counts stay durable with the
effects they count: were the worker to die after the writes, the replay of the page finds them
done (rows there, flags set, rows gone) and would count less; with the plan it counts what the
page set out to do, less what its own (replayed) writes did not do.

A page's counts are a `PullResult` or a `ResubscribeTally`: their integer fields (and the
resubscribe outcomes, one entry per status) are flattened into the plan.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from pydantic import BaseModel

R = TypeVar("R")
OUTCOME = "outcome:"


class PagePlan(BaseModel):
    phase: str
    position: str  # where the page starts in its phase
    first: str = ""  # the page's first item: a page whose rows leave its filter when written
    counts: dict[str, int]


def flat(result: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in fields(result):
        value = getattr(result, f.name)
        if isinstance(value, int):
            out[f.name] = value
        elif f.name == "outcomes":
            out.update({OUTCOME + status: n for status, n in value.items()})
    return out


def settle(actual: R, planned: Any, plan: dict[str, int]) -> R:
    """`actual` with every count as the plan has it, less the planned work this attempt did not
    do (`planned` is this attempt's decision, `actual` what its writes did)."""
    done, meant = flat(actual), flat(planned)
    counts = {key: plan.get(key, 0) - (meant.get(key, 0) - done.get(key, 0))
              for key in plan.keys() | done.keys()}  # fmt: skip
    return restore(actual, counts)


def restore(result: R, counts: dict[str, int]) -> R:
    """`result` with these counts (failures kept)."""
    for f in fields(result):  # type: ignore[arg-type]
        if isinstance(getattr(result, f.name), int):
            setattr(result, f.name, counts.get(f.name, 0))
    if hasattr(result, "outcomes"):
        result.outcomes = {key.removeprefix(OUTCOME): n for key, n in sorted(counts.items())
                           if key.startswith(OUTCOME) and n > 0}  # fmt: skip
    return result
