"""The Once a day "Next Synchronisation" rule: a future date, an optional time, then daily."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings

from shared.scheduling import (
    Interval,
    ScheduleError,
    ScheduleSpec,
    SyncWindow,
    WindowKind,
    next_sync,
    schedule_once_a_day,
    upcoming,
)
from tests.scheduling.strategies import any_times, dates, utc_moments

NOW = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def once_a_day_at(at: time) -> ScheduleSpec:
    window = SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=at)
    return ScheduleSpec(interval=Interval.ONCE_A_DAY, window=window)


def test_future_date_and_time_runs_first_then() -> None:
    spec, first = schedule_once_a_day(
        on=date(2024, 3, 5), at=time(7, 30), current_next=None, now=NOW
    )
    assert spec == once_a_day_at(time(7, 30))
    assert first == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)


def test_then_daily_at_that_time() -> None:
    spec, first = schedule_once_a_day(
        on=date(2024, 3, 5), at=time(7, 30), current_next=None, now=NOW
    )
    assert next_sync(spec, after=first - timedelta(microseconds=1)) == first
    assert upcoming(spec, after=first, count=3) == [first + timedelta(days=d) for d in (1, 2, 3)]


def test_date_only_keeps_the_time_of_day_of_the_current_next_sync() -> None:
    current = datetime(2024, 3, 2, 6, 15, tzinfo=UTC)
    spec, first = schedule_once_a_day(on=date(2024, 3, 5), at=None, current_next=current, now=NOW)
    assert first == datetime(2024, 3, 5, 6, 15, tzinfo=UTC)
    assert spec == once_a_day_at(time(6, 15))


def test_date_only_takes_the_utc_time_of_day_of_an_offset_current_next() -> None:
    current = datetime(2024, 3, 2, 1, 15, tzinfo=timezone(timedelta(hours=2)))  # 23:15 UTC
    _, first = schedule_once_a_day(on=date(2024, 3, 5), at=None, current_next=current, now=NOW)
    assert first == datetime(2024, 3, 5, 23, 15, tzinfo=UTC)


def test_date_only_without_a_current_next_sync_asks_for_a_time() -> None:
    with pytest.raises(ScheduleError, match="Choose a time"):
        schedule_once_a_day(on=date(2024, 3, 5), at=None, current_next=None, now=NOW)


@pytest.mark.parametrize(
    ("on", "at"),
    [
        (date(2024, 2, 28), time(12)),  # an earlier day
        (date(2024, 3, 1), time(9, 59)),  # today, earlier
        (date(2024, 3, 1), time(10, 0)),  # now exactly is not the future
    ],
)
def test_a_date_and_time_not_in_the_future_is_refused(on: date, at: time) -> None:
    with pytest.raises(ScheduleError, match="Choose a date and time in the future"):
        schedule_once_a_day(on=on, at=at, current_next=None, now=NOW)


def test_date_only_in_the_past_is_refused_too() -> None:
    current = datetime(2024, 3, 2, 6, 15, tzinfo=UTC)
    with pytest.raises(ScheduleError, match="Choose a date and time in the future"):
        schedule_once_a_day(on=date(2024, 3, 1), at=None, current_next=current, now=NOW)


def test_today_later_is_accepted() -> None:
    _, first = schedule_once_a_day(on=date(2024, 3, 1), at=time(10, 1), current_next=None, now=NOW)
    assert first == datetime(2024, 3, 1, 10, 1, tzinfo=UTC)


def test_naive_now_and_current_next_and_non_utc_times_are_refused() -> None:
    with pytest.raises(ScheduleError, match="now must be a timezone-aware"):
        schedule_once_a_day(
            on=date(2024, 3, 5), at=time(7), current_next=None, now=datetime(2024, 3, 1)
        )
    with pytest.raises(ScheduleError, match="current_next must be a timezone-aware"):
        schedule_once_a_day(
            on=date(2024, 3, 5), at=None, current_next=datetime(2024, 3, 2), now=NOW
        )
    with pytest.raises(ScheduleError, match="UTC time of day"):
        schedule_once_a_day(
            on=date(2024, 3, 5),
            at=time(7, tzinfo=timezone(timedelta(hours=1))),
            current_next=None,
            now=NOW,
        )
    with pytest.raises(ScheduleError, match="date without a time"):
        schedule_once_a_day(
            on=datetime(2024, 3, 5, tzinfo=UTC), at=time(7), current_next=None, now=NOW
        )


@settings(max_examples=200, deadline=None)
@given(on=dates, at=any_times, now=utc_moments)
def test_first_run_is_the_chosen_moment_then_daily(on: date, at: time, now: datetime) -> None:
    chosen = datetime.combine(on, at, tzinfo=UTC)
    if chosen <= now:
        with pytest.raises(ScheduleError, match="Choose a date and time in the future"):
            schedule_once_a_day(on=on, at=at, current_next=None, now=now)
        return
    spec, first = schedule_once_a_day(on=on, at=at, current_next=None, now=now)
    assert first == chosen
    assert next_sync(spec, after=first - timedelta(microseconds=1)) == first
    assert upcoming(spec, after=first, count=2) == [chosen + timedelta(days=d) for d in (1, 2)]


@settings(max_examples=100, deadline=None)
@given(on=dates, current=utc_moments, now=utc_moments)
def test_date_only_always_keeps_the_current_time_of_day(
    on: date, current: datetime, now: datetime
) -> None:
    chosen = datetime.combine(on, current.time(), tzinfo=UTC)
    if chosen <= now:
        with pytest.raises(ScheduleError):
            schedule_once_a_day(on=on, at=None, current_next=current, now=now)
        return
    _, first = schedule_once_a_day(on=on, at=None, current_next=current, now=now)
    assert first == chosen
