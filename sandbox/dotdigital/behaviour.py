"""Contact scores and WebInsight page views of the sandbox account.

Scores: one per contact, dated by its last change (`Scoring.set`); `enabled = False` is an
account without contact scoring. Page views: what the site's tracking script would have
recorded (`WebInsight.view`), each with an id of its own, the page, when and for how long.
Both are read "since a date" in date order (`since`), as the v2 since-reads are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.dotdigital.contacts import ContactRecord


@dataclass(eq=False)
class ScoreRecord:
    contact_id: int
    email: str
    modified: float
    label: str | None
    score: int
    engagement: int
    suitability: int


@dataclass
class Scoring:
    enabled: bool = True  # False: the account has no contact scoring (INFERRED refusal)
    by_contact: dict[int, ScoreRecord] = field(default_factory=dict)

    def set(
        self,
        contact: ContactRecord,
        score: int,
        *,
        when: float,
        label: str | None = None,
        engagement: int = 0,
        suitability: int = 0,
    ) -> ScoreRecord:
        """The contact's score as the platform recomputes it at `when`."""
        record = ScoreRecord(contact.id, contact.email or "", when, label, score, engagement,
                             suitability)  # fmt: skip
        self.by_contact[contact.id] = record
        return record

    def since(self, when: float) -> list[ScoreRecord]:
        """Scores modified at or after `when`, oldest change first (contact id breaks ties)."""
        rows = [r for r in self.by_contact.values() if r.modified >= when]
        return sorted(rows, key=lambda r: (r.modified, r.contact_id))


@dataclass(eq=False)
class PageViewRecord:
    id: int
    contact_id: int
    email: str
    url: str
    viewed: float
    duration_seconds: int


@dataclass
class WebInsight:
    views: list[PageViewRecord] = field(default_factory=list)
    _next_id: int = 70_000_001

    def view(
        self, contact: ContactRecord, url: str, *, when: float, duration_seconds: int = 30
    ) -> PageViewRecord:
        record = PageViewRecord(self._next_id, contact.id, contact.email or "", url, when,
                                duration_seconds)  # fmt: skip
        self._next_id += 1
        self.views.append(record)
        return record

    def since(self, when: float) -> list[PageViewRecord]:
        """Views at or after `when`, oldest first (their id breaks ties)."""
        rows = [v for v in self.views if v.viewed >= when]
        return sorted(rows, key=lambda v: (v.viewed, v.id))
