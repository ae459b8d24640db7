"""Conditional writes of platform values to every Dynamics record with an email, and the
per-table counting of the types that use them (ContactOptIn, ContactScoring).

A `WritePolicy` says which columns a value touches, whether a record needs it (`wants`: the
opt-in type only rises, a score only moves to a later date) and what the record holds once
written. `ConditionalWriter.decide` looks a batch of emails up (one `$batch`, several tables);
`write` sends a PATCH per record conditional on the ETag it was decided from (`If-Match`, inside
`$batch`; UpdateMultiple has no per-record condition), so a value written in between by another
account's run is never overwritten blindly: on 412 the record is read again and decided again,
up to `MAX_ATTEMPTS` times. A `$batch` resent after a lost answer meets 412 on its own writes;
the re-read then finds what it wrote and counts it as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from shared.audit import AuditDetail, AuditStatus, Counts
from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path, query_string, select_option
from shared.engine import Run
from shared.sync.email_lookup import ETAG, EmailQuery, find_by_email

V = TypeVar("V")
V_contra = TypeVar("V_contra", contravariant=True)
MAX_ATTEMPTS = 4  # writes of one record that met a change made in between, before giving up
MAX_FAILURES = 20  # failed records named in the audit detail (all are counted)
_RETRY_LATER = frozenset({408, 412, 429})


class WritePolicy(Protocol[V_contra]):
    columns: tuple[str, ...]  # read with the lookup, and by the re-read after a 412

    def wants(self, value: V_contra, record: Mapping[str, Any]) -> bool:
        """Whether the record should take the value (else it is counted unchanged)."""
        ...

    def body(self, value: V_contra) -> dict[str, Any]:
        """The PATCH body that writes the value."""
        ...

    def holds(self, value: V_contra, record: Mapping[str, Any]) -> bool:
        """Whether the record holds the value (an earlier send of the same write applied)."""
        ...


@dataclass
class _Write(Generic[V]):
    table: str
    entity_set: str
    record_id: str
    email: str
    value: V
    etag: str


@dataclass
class Decision(Generic[V]):
    """A batch's writes as decided from its lookups, before any is sent."""

    pending: list[_Write[V]] = field(default_factory=list)
    unchanged: int = 0  # records that need no write
    failed: dict[str, str] = field(default_factory=dict)  # email -> why its lookup failed

    def planned(self) -> dict[str, int]:
        """table -> records it sets out to write."""
        counts: dict[str, int] = {}
        for write in self.pending:
            counts[write.table] = counts.get(write.table, 0) + 1
        return counts


@dataclass
class WriteOutcome:
    updated: dict[str, int] = field(default_factory=dict)  # table -> records written
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "<table> <id>" or email -> why
    retry: set[str] = field(default_factory=set)  # emails whose failure can pass

    @property
    def written(self) -> int:
        return sum(self.updated.values())

    def count(self, table: str) -> None:
        self.updated[table] = self.updated.get(table, 0) + 1


def _can_pass(status: int | None) -> bool:
    return status is None or status in _RETRY_LATER or status >= 500


class ConditionalWriter(Generic[V]):
    """Writes one batch of (lower-cased email -> value) to `tables` ((table, entity set)
    pairs); see the module's docstring."""

    def __init__(
        self,
        dataverse: DataverseClient,
        policy: WritePolicy[V],
        tables: Sequence[tuple[str, str]],
        *,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.dataverse = dataverse
        self.policy = policy
        self.tables = tuple(tables)
        self.max_attempts = max_attempts

    def apply(self, values: Mapping[str, V]) -> WriteOutcome:
        return self.write(self.decide(values))

    def decide(self, values: Mapping[str, V]) -> Decision[V]:
        """Look the emails up: the records to write, the ones unchanged, the failed lookups."""
        decision: Decision[V] = Decision()
        if not values:
            return decision
        queries = [
            EmailQuery(entity_set, f"{table}id", columns=self.policy.columns)
            for table, entity_set in self.tables
        ]
        found = find_by_email(self.dataverse, queries, sorted(values))
        for (table, entity_set), answer in zip(self.tables, found, strict=True):
            decision.failed.update(answer.failed)
            for email, rows in answer.rows.items():
                for row in rows:
                    if not self.policy.wants(values[email], row):
                        decision.unchanged += 1
                        continue
                    record_id, etag = str(row[f"{table}id"]).lower(), str(row.get(ETAG) or "*")
                    decision.pending.append(
                        _Write(table, entity_set, record_id, email, values[email], etag)
                    )
        return decision

    def write(self, decision: Decision[V]) -> WriteOutcome:
        """The decided writes, conditional on the values they were decided from."""
        outcome = WriteOutcome(unchanged=decision.unchanged)
        for email, problem in decision.failed.items():
            outcome.failed[email] = problem
            outcome.retry.add(email)
        pending = list(decision.pending)
        for _ in range(self.max_attempts):
            if not pending:
                return outcome
            pending = self._write(pending, outcome)
        for write in pending:
            outcome.failed[f"{write.table} {write.record_id}"] = (
                f"changed by another writer {self.max_attempts} times in a row"
            )
            outcome.retry.add(write.email)
        return outcome

    def _write(self, writes: Sequence[_Write[V]], outcome: WriteOutcome) -> list[_Write[V]]:
        """One round of conditional writes; returns the ones to try again."""
        requests = [
            BatchRequest.update(
                w.entity_set, w.record_id, self.policy.body(w.value), if_match=w.etag
            )
            for w in writes
        ]
        results = self.dataverse.execute_batch(requests).results
        conflicts: list[tuple[_Write[V], BatchResult]] = []
        for write, result in zip(writes, results, strict=True):
            if result.ok:
                outcome.count(write.table)
            elif result.status == 412:
                conflicts.append((write, result))
            elif result.status != 404:  # 404: deleted since it was read, nothing to write
                outcome.failed[f"{write.table} {write.record_id}"] = result.why
                if _can_pass(result.status):
                    outcome.retry.add(write.email)
        return self._decide_again(conflicts, outcome) if conflicts else []

    def _decide_again(
        self, conflicts: Sequence[tuple[_Write[V], BatchResult]], outcome: WriteOutcome
    ) -> list[_Write[V]]:
        """Read the records that changed since they were read, and decide again."""
        select = query_string([("$select", select_option(list(self.policy.columns)))])
        requests = [
            BatchRequest.get(f"{entity_path(w.entity_set, w.record_id)}?{select}")
            for w, _ in conflicts
        ]
        reads = self.dataverse.execute_batch(requests).results
        again: list[_Write[V]] = []
        for (write, conflict), read in zip(conflicts, reads, strict=True):
            body: Any = read.body
            if read.status == 404:
                continue
            if not read.ok or not isinstance(body, dict):
                outcome.failed[f"{write.table} {write.record_id}"] = read.why
                outcome.retry.add(write.email)
            elif self.policy.wants(write.value, body):
                write.etag = str(body.get(ETAG) or "*")
                again.append(write)
            elif conflict.resent and self.policy.holds(write.value, body):
                # Our own write, applied by the first send of a batch whose answer was lost.
                outcome.count(write.table)
            else:
                outcome.unchanged += 1  # written as far or further in between: kept
        return again


# Counting, for the types that write a page at a time with a plan saved before its writes. ------


def as_planned(
    outcome: WriteOutcome, decision: Decision[Any], plan: Mapping[str, int]
) -> WriteOutcome:
    """The page's writes as its plan (table -> records, saved before the writes) counted
    them, less the planned ones this attempt did not make (404, written further in between, a
    failure). On a replay the records the dead attempt wrote are no longer pending: the plan
    still counts them."""
    planned = decision.planned()
    updated = {
        table: count - (planned.get(table, 0) - outcome.updated.get(table, 0))
        for table, count in plan.items()
    }
    outcome.updated = {table: count for table, count in updated.items() if count > 0}
    return outcome


def tally(
    run: Run[Any], read: int, outcome: WriteOutcome, updated: dict[str, int], failures: list[str]
) -> None:
    """Add a page's outcome to the run's counts and to the cursor's per-table totals and
    failure list (the first MAX_FAILURES)."""
    for table, count in outcome.updated.items():
        updated[table] = updated.get(table, 0) + count
    for key, problem in outcome.failed.items():
        if len(failures) < MAX_FAILURES:
            failures.append(f"{key}: {problem}"[:200])
    run.counts += Counts(read=read, updated=outcome.written, failed=len(outcome.failed))


def table_details(
    run: Run[Any],
    tables: Sequence[tuple[str, str]],
    updated: Mapping[str, int],
    failures: Sequence[str],
    *,
    what: str,
    failed_item: str = "Records that failed",
) -> None:
    """One detail row per table written ("<n> <what>") and one naming the records that failed."""
    for table, _entity_set in tables:
        written = updated.get(table, 0)
        if written:
            run.detail(AuditDetail(item=table, status=AuditStatus.COMPLETED,
                                   message=f"{written} {what}",
                                   counts=Counts(updated=written)))  # fmt: skip
    failed = run.counts.failed
    if failed:
        more = failed - len(failures)
        text = "; ".join(failures) + (f"; and {more} more" if more > 0 else "")
        run.detail(AuditDetail(item=failed_item, status=AuditStatus.FAILED, message=text,
                               counts=Counts(failed=failed)))  # fmt: skip
