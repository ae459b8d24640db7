"""Write platform contact scores to every contact and lead with the score's email.

The five score columns (`dms_score`, `dms_scorelabel`, `dms_scoreengagement`,
`dms_scoresuitability`, `dms_scoremodifiedon`) move together, and only forward: a record takes a
score whose `dateModified` is later than the one it holds (or when it holds none). That makes a
re-read, a replayed page and an older score of another connected account write nothing, and a
score two accounts report at different times ends as the later one whichever runs last. Writes
are conditional on the record's ETag (`shared.sync.record_writer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dotdigital.scoring import ContactScore
from shared.sync.record_writer import MAX_ATTEMPTS, ConditionalWriter

TABLES = (("contact", "contacts"), ("lead", "leads"))
MODIFIED = "dms_scoremodifiedon"
COLUMNS = ("dms_score", "dms_scorelabel", "dms_scoreengagement", "dms_scoresuitability", MODIFIED)


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


class _LaterWins:
    columns: tuple[str, ...] = COLUMNS

    def wants(self, value: ContactScore, record: Mapping[str, Any]) -> bool:
        """Whether the score is later than what the record holds (whole seconds, as stored)."""
        if value.date_modified is None:
            return False
        held = _stored(record.get(MODIFIED))
        return held is None or value.date_modified.replace(microsecond=0) > held

    def body(self, value: ContactScore) -> dict[str, Any]:
        return columns(value)

    def holds(self, value: ContactScore, record: Mapping[str, Any]) -> bool:
        wanted = columns(value)
        return all(record.get(name) == wanted[name] for name in COLUMNS if name != MODIFIED)


class ScoreWriter(ConditionalWriter[ContactScore]):
    """Writes one page of scores (by lower-cased email) to contacts and leads."""

    def __init__(self, dataverse: DataverseClient, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        super().__init__(dataverse, _LaterWins(), TABLES, max_attempts=max_attempts)
