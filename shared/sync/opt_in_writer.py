"""Raise `dms_optintype` on every contact, lead and account with a given email; never lower it.

Opt-in types rank Unknown (1) < Single (2) < Double (3) < VerifiedDouble (4), across every
connected email account (seed 002): a record takes a platform's type only when it has none or a
lower one. Several accounts' runs may write the same record at once, so each write is
conditional on the value it decided from: a PATCH with the record's ETag (`If-Match`) inside
`$batch` (UpdateMultiple has no per-record condition). A 412 means the record changed since it
was read: it is read again and decided again (a higher value written meanwhile is kept), up to
`MAX_ATTEMPTS` times. A `$batch` resent after a lost answer meets 412 on its own writes; the
re-read then finds the value it wrote and counts it as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path, query_string, select_option
from shared.dynamics_schema.connector import OPT_IN_TYPE, OPT_IN_TYPES
from shared.sync.email_lookup import ETAG, EmailQuery, find_by_email

COLUMN = OPT_IN_TYPE.logical_name
RANKS: dict[str, int] = {option.label.lower(): option.value for option in OPT_IN_TYPES}
TABLES = (("contact", "contacts"), ("lead", "leads"), ("account", "accounts"))
MAX_ATTEMPTS = 4  # writes of one record that met a change made in between, before giving up
_RETRY_LATER = frozenset({408, 412, 429})


def rank_of(opt_in_type: str | None) -> int | None:
    """The platform's opt-in type (v2 `VerifiedDouble`, v3 `verifiedDouble`) as the column's
    value; None for a type the column does not have (e.g. `NotAvailableInThisVersion`)."""
    return RANKS.get((opt_in_type or "").strip().lower())


@dataclass
class _Write:
    table: str
    entity_set: str
    record_id: str
    email: str
    value: int
    etag: str


@dataclass
class WriteOutcome:
    updated: dict[str, int] = field(default_factory=dict)  # table -> records raised
    unchanged: int = 0  # records already at that type or higher
    failed: dict[str, str] = field(default_factory=dict)  # "<table> <id>" or email -> why
    retry: set[str] = field(default_factory=set)  # emails whose failure can pass

    @property
    def written(self) -> int:
        return sum(self.updated.values())


@dataclass
class Decision:
    """A batch's writes as decided from its lookups, before any is sent."""

    pending: list[_Write] = field(default_factory=list)  # records to raise
    unchanged: int = 0  # records already at that type or higher
    failed: dict[str, str] = field(default_factory=dict)  # email -> why its lookup failed

    def raises(self) -> dict[str, int]:
        """table -> records it sets out to raise."""
        planned: dict[str, int] = {}
        for write in self.pending:
            planned[write.table] = planned.get(write.table, 0) + 1
        return planned


def _can_pass(result: BatchResult) -> bool:
    return result.status is None or result.status in _RETRY_LATER or result.status >= 500


class OptInWriter:
    """Writes one batch of (email -> opt-in value) to Dynamics; see the module's docstring."""

    def __init__(self, dataverse: DataverseClient, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.dataverse = dataverse
        self.max_attempts = max_attempts

    def apply(self, values: Mapping[str, int]) -> WriteOutcome:
        return self.write(self.decide(values))

    def decide(self, values: Mapping[str, int]) -> Decision:
        """Look the emails up: the records to raise, the ones unchanged, the failed lookups."""
        decision = Decision()
        emails = sorted(values)
        queries = [
            EmailQuery(entity_set, f"{table}id", columns=(COLUMN,)) for table, entity_set in TABLES
        ]
        if not emails:
            return decision
        found = find_by_email(self.dataverse, queries, emails)
        for (table, entity_set), answer in zip(TABLES, found, strict=True):
            decision.failed.update(answer.failed)
            for email, rows in answer.rows.items():
                for row in rows:
                    write = _Write(table, entity_set, str(row[f"{table}id"]).lower(), email,
                                   values[email], str(row.get(ETAG) or "*"))  # fmt: skip
                    if _raises(row.get(COLUMN), write.value):
                        decision.pending.append(write)
                    else:
                        decision.unchanged += 1
        return decision

    def write(self, decision: Decision) -> WriteOutcome:
        """The decided writes, conditional on the values they were decided from."""
        outcome = WriteOutcome(unchanged=decision.unchanged)
        for email, problem in decision.failed.items():
            outcome.failed[email] = problem
            outcome.retry.add(email)
        pending = list(decision.pending)
        attempt = 0
        while pending:
            attempt += 1
            if attempt > self.max_attempts:
                for write in pending:
                    outcome.failed[f"{write.table} {write.record_id}"] = (
                        f"changed by another writer {self.max_attempts} times in a row"
                    )
                    outcome.retry.add(write.email)
                break
            pending = self._write(pending, outcome)
        return outcome

    def _write(self, writes: Sequence[_Write], outcome: WriteOutcome) -> list[_Write]:
        """One round of conditional writes; returns the ones to try again."""
        requests = [
            BatchRequest.update(w.entity_set, w.record_id, {COLUMN: w.value}, if_match=w.etag)
            for w in writes
        ]
        results = self.dataverse.execute_batch(requests).results
        conflicts: list[tuple[_Write, BatchResult]] = []
        for write, result in zip(writes, results, strict=True):
            if result.ok:
                outcome.updated[write.table] = outcome.updated.get(write.table, 0) + 1
            elif result.status == 412:
                conflicts.append((write, result))
            elif result.status == 404:
                continue  # deleted since it was read: nothing to raise
            else:
                outcome.failed[f"{write.table} {write.record_id}"] = result.why
                if _can_pass(result):
                    outcome.retry.add(write.email)
        return self._decide_again(conflicts, outcome) if conflicts else []

    def _decide_again(
        self, conflicts: Sequence[tuple[_Write, BatchResult]], outcome: WriteOutcome
    ) -> list[_Write]:
        """Read the records that changed since they were read, and decide again."""
        select = query_string([("$select", select_option([COLUMN]))])
        requests = [
            BatchRequest.get(f"{entity_path(w.entity_set, w.record_id)}?{select}")
            for w, _ in conflicts
        ]
        reads = self.dataverse.execute_batch(requests).results
        again: list[_Write] = []
        for (write, conflict), read in zip(conflicts, reads, strict=True):
            body: Any = read.body
            if read.status == 404:
                continue
            if not read.ok or not isinstance(body, dict):
                outcome.failed[f"{write.table} {write.record_id}"] = read.why
                outcome.retry.add(write.email)
                continue
            current = body.get(COLUMN)
            if _raises(current, write.value):
                write.etag = str(body.get(ETAG) or "*")
                again.append(write)
            elif conflict.resent and current == write.value:
                # Our own write, applied by the first send of a batch whose answer was lost.
                outcome.updated[write.table] = outcome.updated.get(write.table, 0) + 1
            else:
                outcome.unchanged += 1  # raised as high or higher in between: kept
        return again


def _raises(current: Any, value: int) -> bool:
    return not isinstance(current, int) or value > current
