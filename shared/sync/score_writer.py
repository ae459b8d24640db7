"""Write platform contact scores to every contact and lead with the score's email.

The five score columns (`dms_score`, `dms_scorelabel`, `dms_scoreengagement`,
`dms_scoresuitability`, `dms_scoremodifiedon`) move together, and only forward: a record takes a
score whose `dateModified` is later than the one it holds (or when it holds none). That makes a
re-read, a replayed page and an older score of another connected account write nothing, and a
score two accounts report at different times ends as the later one whichever runs last. Each
write is a PATCH conditional on the record's ETag inside `$batch`: a record changed since it was
read (412) is read again and decided again, up to `MAX_ATTEMPTS` times; a batch resent after a
lost answer meets 412 on its own write and counts it once it finds the score there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path, query_string, select_option
from shared.clients.dotdigital.scoring import ContactScore
from shared.sync.email_lookup import ETAG, EmailQuery, find_by_email

TABLES = (("contact", "contacts"), ("lead", "leads"))
MODIFIED = "dms_scoremodifiedon"
COLUMNS = ("dms_score", "dms_scorelabel", "dms_scoreengagement", "dms_scoresuitability", MODIFIED)
MAX_ATTEMPTS = 4  # writes of one record that met a change made in between, before giving up
_RETRY_LATER = frozenset({408, 412, 429})


def columns(score: ContactScore) -> dict[str, Any]:
    """The record's score columns as this score sets them."""
    modified = score.date_modified
    return {
        "dms_score": score.score,
        "dms_scorelabel": score.score_label[:100] if score.score_label else None,
        "dms_scoreengagement": score.engagement,
        "dms_scoresuitability": score.suitability,
        MODIFIED: None if modified is None else modified.isoformat().replace("+00:00", "Z"),
    }


def _stored(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_newer(score: ContactScore, record: Mapping[str, Any]) -> bool:
    """Whether the score is later than what the record holds (whole seconds, as stored)."""
    if score.date_modified is None:
        return False
    held = _stored(record.get(MODIFIED))
    return held is None or score.date_modified.replace(microsecond=0) > held


@dataclass
class _Write:
    table: str
    entity_set: str
    record_id: str
    email: str
    score: ContactScore
    etag: str


@dataclass
class ScoreDecision:
    """A page's writes as decided from its lookups, before any is sent."""

    pending: list[_Write] = field(default_factory=list)
    unchanged: int = 0  # records already holding this score or a later one
    failed: dict[str, str] = field(default_factory=dict)  # email -> why its lookup failed

    def planned(self) -> dict[str, int]:
        """table -> records it sets out to write."""
        counts: dict[str, int] = {}
        for write in self.pending:
            counts[write.table] = counts.get(write.table, 0) + 1
        return counts


@dataclass
class ScoreOutcome:
    updated: dict[str, int] = field(default_factory=dict)  # table -> records written
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "<table> <id>" or email -> why
    retry: set[str] = field(default_factory=set)  # emails whose failure can pass

    @property
    def written(self) -> int:
        return sum(self.updated.values())


class ScoreWriter:
    """Writes one page of scores (by lower-cased email) to Dynamics; see the module's doc."""

    def __init__(self, dataverse: DataverseClient, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.dataverse = dataverse
        self.max_attempts = max_attempts

    def decide(self, scores: Mapping[str, ContactScore]) -> ScoreDecision:
        decision = ScoreDecision()
        if not scores:
            return decision
        queries = [
            EmailQuery(entity_set, f"{table}id", columns=COLUMNS) for table, entity_set in TABLES
        ]
        found = find_by_email(self.dataverse, queries, sorted(scores))
        for (table, entity_set), answer in zip(TABLES, found, strict=True):
            decision.failed.update(answer.failed)
            for email, rows in answer.rows.items():
                for row in rows:
                    if not is_newer(scores[email], row):
                        decision.unchanged += 1
                        continue
                    record_id = str(row[f"{table}id"]).lower()
                    etag = str(row.get(ETAG) or "*")
                    decision.pending.append(
                        _Write(table, entity_set, record_id, email, scores[email], etag)
                    )
        return decision

    def write(self, decision: ScoreDecision) -> ScoreOutcome:
        outcome = ScoreOutcome(unchanged=decision.unchanged)
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

    def _write(self, writes: Sequence[_Write], outcome: ScoreOutcome) -> list[_Write]:
        """One round of conditional writes; returns the ones to try again."""
        requests = [
            BatchRequest.update(w.entity_set, w.record_id, columns(w.score), if_match=w.etag)
            for w in writes
        ]
        results = self.dataverse.execute_batch(requests).results
        conflicts: list[tuple[_Write, BatchResult]] = []
        for write, result in zip(writes, results, strict=True):
            if result.ok:
                outcome.updated[write.table] = outcome.updated.get(write.table, 0) + 1
            elif result.status == 412:
                conflicts.append((write, result))
            elif result.status != 404:  # 404: deleted since it was read, nothing to score
                outcome.failed[f"{write.table} {write.record_id}"] = result.why
                if result.status is None or result.status in _RETRY_LATER or result.status >= 500:
                    outcome.retry.add(write.email)
        return self._decide_again(conflicts, outcome) if conflicts else []

    def _decide_again(
        self, conflicts: Sequence[tuple[_Write, BatchResult]], outcome: ScoreOutcome
    ) -> list[_Write]:
        """Read the records that changed since they were read, and decide again."""
        select = query_string([("$select", select_option(list(COLUMNS)))])
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
            elif is_newer(write.score, body):
                write.etag = str(body.get(ETAG) or "*")
                again.append(write)
            elif conflict.resent and _holds(body, write.score):
                # Our own write, applied by the first send of a batch whose answer was lost.
                outcome.updated[write.table] = outcome.updated.get(write.table, 0) + 1
            else:
                outcome.unchanged += 1  # a score as late or later was written in between
        return again


def _holds(record: Mapping[str, Any], score: ContactScore) -> bool:
    wanted = columns(score)
    return all(record.get(name) == wanted[name] for name in COLUMNS if name != MODIFIED)
