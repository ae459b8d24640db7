"""Raise `dms_optintype` on every contact, lead and account with a given email; never lower it.

Opt-in types rank Unknown (1) < Single (2) < Double (3) < VerifiedDouble (4), across every
connected email account (seed 002): a record takes a platform's type only when it has none or a
lower one. Several accounts' runs may write the same record at once, so each write is
conditional on the value it was decided from (`shared.sync.record_writer`: ETag-conditional
PATCHes in `$batch`, a 412 read and decided again, so a higher value written meanwhile is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.clients.dataverse.client import DataverseClient
from shared.dynamics_schema.connector import OPT_IN_TYPE, OPT_IN_TYPES
from shared.sync.record_writer import (
    MAX_ATTEMPTS,
    ConditionalWriter,
    Decision,
    WriteOutcome,
)

__all__ = ["COLUMN", "TABLES", "Decision", "OptInWriter", "WriteOutcome", "rank_of"]

COLUMN = OPT_IN_TYPE.logical_name
RANKS: dict[str, int] = {option.label.lower(): option.value for option in OPT_IN_TYPES}
TABLES = (("contact", "contacts"), ("lead", "leads"), ("account", "accounts"))


def rank_of(opt_in_type: str | None) -> int | None:
    """The platform's opt-in type (v2 `VerifiedDouble`, v3 `verifiedDouble`) as the column's
    value; None for a type the column does not have (e.g. `NotAvailableInThisVersion`)."""
    return RANKS.get((opt_in_type or "").strip().lower())


class _OnlyRising:
    columns: tuple[str, ...] = (COLUMN,)

    def wants(self, value: int, record: Mapping[str, Any]) -> bool:
        current = record.get(COLUMN)
        return not isinstance(current, int) or value > current

    def body(self, value: int) -> dict[str, Any]:
        return {COLUMN: value}

    def holds(self, value: int, record: Mapping[str, Any]) -> bool:
        return record.get(COLUMN) == value


class OptInWriter(ConditionalWriter[int]):
    """Writes one batch of (email -> opt-in value) to Dynamics; see the module's docstring."""

    def __init__(self, dataverse: DataverseClient, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        super().__init__(dataverse, _OnlyRising(), TABLES, max_attempts=max_attempts)
