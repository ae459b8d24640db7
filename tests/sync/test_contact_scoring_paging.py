"""ContactScoring pages by date: every score is read once, whether a score moves to the end
while the run reads, or a whole page (or more) shares one date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shared.clients.dotdigital.scoring import ContactScore
from shared.sync.contact_scoring import FIRST_READ_FROM, Position, _fresh, _next_position

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _score(contact_id: int, minutes: float, score: int = 1) -> ContactScore:
    return ContactScore(contact_id=contact_id, email=f"c{contact_id}@example.com",
                        date_modified=T0 + timedelta(minutes=minutes), score=score)  # fmt: skip


class Platform:
    """`modified-since` as the v2 spec has it: ordered by modified date, the date inclusive."""

    def __init__(self, scores: list[ContactScore]) -> None:
        self.by_contact = {s.contact_id: s for s in scores}

    def read(self, since: datetime, select: int, skip: int) -> list[ContactScore]:
        rows = [s for s in self.by_contact.values() if s.date_modified and s.date_modified >= since]
        rows.sort(key=lambda s: (s.date_modified or T0, s.contact_id))
        return rows[skip : skip + select]


def _walk(
    platform: Platform, page_size: int, between: Callable[[int], None] = lambda page: None
) -> list[tuple[int, int]]:
    """What a run reads, as (contact id, score), page after page until a short one."""
    read: list[tuple[int, int]] = []
    at = Position()
    for page in range(100):
        rows = platform.read(at.since or FIRST_READ_FROM, page_size, at.skip)
        read += [(row.contact_id, row.score or 0) for row in _fresh(rows, at)]
        between(page)
        if len(rows) < page_size:
            return read
        at = _next_position(at, rows)
    raise AssertionError("the read never ended")


def test_a_score_moved_to_the_end_mid_run_is_read_there_and_none_is_passed_over() -> None:
    platform = Platform([_score(n, n) for n in range(25)])

    def rescore(page: int) -> None:
        if page == 0:  # contact 3, read on page 1, changes: it moves to the end
            platform.by_contact[3] = _score(3, 60, score=99)

    read = _walk(platform, 10, rescore)

    assert sorted({cid for cid, _ in read}) == list(range(25))
    assert read[-1] == (3, 99)
    assert len(read) == 26  # every contact once, and the moved one again with its new score


def test_pages_that_share_one_date_are_stepped_over_within_it() -> None:
    same = [_score(n, 5) for n in range(25)]  # 2.5 pages at one instant
    platform = Platform([_score(100, 1), *same, _score(200, 9), _score(201, 9)])

    read = _walk(platform, 10)

    assert [cid for cid, _ in read] == [100, *range(25), 200, 201]


def test_a_page_ending_inside_a_date_goes_on_after_the_contacts_done_at_it() -> None:
    platform = Platform([_score(n, n // 3) for n in range(20)])  # threes share a date

    read = _walk(platform, 4)

    assert [cid for cid, _ in read] == list(range(20))
