"""next_sync and upcoming on the product docs' examples and the edges around them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from shared.scheduling import (
    Interval,
    ScheduleError,
    ScheduleSpec,
    SyncWindow,
    next_sync,
    upcoming,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in January 2024, whose 1st is a Monday."""
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def spec(interval: Interval, window: str = "any") -> ScheduleSpec:
    return ScheduleSpec(interval=interval, window=SyncWindow.parse(window))


SEED = spec(Interval.HOURS_4, "mon-fri 18:00-08:00")


def test_seed_timetable_for_a_whole_week() -> None:
    assert upcoming(SEED, after=at(1, 12), count=21) == [
        at(1, 18), at(1, 22),
        at(2, 2), at(2, 6), at(2, 18), at(2, 22),
        at(3, 2), at(3, 6), at(3, 18), at(3, 22),
        at(4, 2), at(4, 6), at(4, 18), at(4, 22),
        at(5, 2), at(5, 6), at(5, 18), at(5, 22),
        at(6, 2), at(6, 6),
        at(8, 18),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "after",
    [at(6, 6), at(6, 7, 59), at(6, 8), at(6, 12), at(7, 0), at(7, 23, 59), at(8, 17, 59)],
)
def test_seed_never_runs_from_saturday_0800_until_monday_1800(after: datetime) -> None:
    assert next_sync(SEED, after=after) == at(8, 18)


def test_seed_monday_small_hours_belong_to_no_instance() -> None:
    # Sunday has no instance, so Monday 02:00 and 06:00 are not runs.
    assert next_sync(SEED, after=at(8, 0)) == at(8, 18)
    assert next_sync(SEED, after=at(8, 18)) == at(8, 22)
    assert next_sync(SEED, after=at(8, 22)) == at(9, 2)


def test_any_time_every_5_minutes_runs_on_the_clock_grid() -> None:
    every_5 = spec(Interval.MINUTES_5)
    assert next_sync(every_5, after=at(1, 10, 2)) == at(1, 10, 5)
    assert next_sync(every_5, after=at(1, 10, 5)) == at(1, 10, 10)
    assert next_sync(every_5, after=at(1, 23, 57)) == at(2, 0, 0)
    assert next_sync(every_5, after=at(1, 10, 4) + timedelta(seconds=59.9)) == at(1, 10, 5)


@pytest.mark.parametrize(
    ("interval", "hours"),
    [
        (Interval.HOURS_1, list(range(1, 25))),
        (Interval.HOURS_2, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]),
        (Interval.HOURS_4, [4, 8, 12, 16, 20, 24]),
        (Interval.HOURS_6, [6, 12, 18, 24]),
        (Interval.HOURS_8, [8, 16, 24]),
        (Interval.HOURS_12, [12, 24]),
        (Interval.ONCE_A_DAY, [24]),
    ],
)
def test_any_time_hourly_grids_start_at_midnight(interval: Interval, hours: list[int]) -> None:
    midnight = at(1, 0)
    runs = upcoming(spec(interval), after=midnight, count=len(hours))
    assert runs == [midnight + timedelta(hours=hour) for hour in hours]


@pytest.mark.parametrize(
    ("interval", "minutes"),
    [(Interval.MINUTES_10, 10), (Interval.MINUTES_15, 15), (Interval.MINUTES_30, 30)],
)
def test_any_time_minute_grids(interval: Interval, minutes: int) -> None:
    runs = upcoming(spec(interval), after=at(1, 23, 1), count=4)
    first = at(1, 23, minutes)
    assert runs == [first + timedelta(minutes=minutes * k) for k in range(4)]


def test_grid_starts_at_the_instance_start_not_at_midnight() -> None:
    window = spec(Interval.HOURS_2, "daily 09:30-14:00")
    assert upcoming(window, after=at(1, 0), count=4) == [
        at(1, 9, 30), at(1, 11, 30), at(1, 13, 30), at(2, 9, 30)
    ]  # fmt: skip


def test_window_end_is_exclusive() -> None:
    window = spec(Interval.HOURS_4, "daily 09:00-17:00")
    assert upcoming(window, after=at(1, 8), count=3) == [at(1, 9), at(1, 13), at(2, 9)]


def test_equal_start_and_end_is_a_24_hour_instance() -> None:
    window = spec(Interval.HOURS_12, "mon 06:00-06:00")
    assert upcoming(window, after=at(1, 0), count=3) == [at(1, 6), at(1, 18), at(8, 6)]


def test_look_back_finds_an_instance_crossing_midnight_into_today() -> None:
    window = spec(Interval.MINUTES_30, "sun 22:00-02:00")
    assert next_sync(window, after=at(8, 0, 45)) == at(8, 1)
    assert next_sync(window, after=at(8, 1, 30)) == at(14, 22)


def test_instance_ending_at_midnight() -> None:
    window = spec(Interval.HOURS_1, "fri 22:00-24:00")
    assert upcoming(window, after=at(5, 21), count=3) == [at(5, 22), at(5, 23), at(12, 22)]


def test_once_a_day_with_any_time_runs_at_midnight() -> None:
    daily = spec(Interval.ONCE_A_DAY)
    assert next_sync(daily, after=at(1, 0)) == at(2, 0)
    assert next_sync(daily, after=at(1, 0) - timedelta(microseconds=1)) == at(1, 0)


def test_once_a_day_with_days_runs_once_at_each_instance_start() -> None:
    weekdays = spec(Interval.ONCE_A_DAY, "mon-fri 18:00-08:00")
    assert upcoming(weekdays, after=at(1, 12), count=6) == [
        at(1, 18), at(2, 18), at(3, 18), at(4, 18), at(5, 18), at(8, 18)
    ]  # fmt: skip


def test_once_a_day_at_a_specific_time() -> None:
    seven_thirty = spec(Interval.ONCE_A_DAY, "specific 07:30")
    assert next_sync(seven_thirty, after=at(1, 7, 29)) == at(1, 7, 30)
    assert next_sync(seven_thirty, after=at(1, 7, 30)) == at(2, 7, 30)
    assert upcoming(seven_thirty, after=at(6, 12), count=2) == [at(7, 7, 30), at(8, 7, 30)]


def test_a_single_weekday_is_found_a_week_ahead() -> None:
    mondays = spec(Interval.MINUTES_5, "mon 09:00-09:05")
    assert next_sync(mondays, after=at(1, 9)) == at(8, 9)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ScheduleError, match="timezone-aware"):
        next_sync(SEED, after=datetime(2024, 1, 1, 12))
    with pytest.raises(ScheduleError, match="timezone-aware"):
        next_sync(ScheduleSpec(), after=datetime(2024, 1, 1, 12))
    with pytest.raises(ScheduleError, match="timezone-aware"):
        upcoming(SEED, after=datetime(2024, 1, 1, 12), count=1)


def test_other_offsets_are_read_as_the_same_instant_and_answered_in_utc() -> None:
    plus_five = timezone(timedelta(hours=5))
    result = next_sync(SEED, after=datetime(2024, 1, 1, 17, tzinfo=plus_five))
    assert result == at(1, 18)
    assert result is not None and result.tzinfo is UTC


def test_upcoming_count() -> None:
    assert upcoming(SEED, after=at(1, 12), count=0) == []
    with pytest.raises(ScheduleError, match="count"):
        upcoming(SEED, after=at(1, 12), count=-1)


def test_answers_are_exact_at_microsecond_precision() -> None:
    window = ScheduleSpec(
        interval=Interval.MINUTES_5,
        window=SyncWindow.parse("daily 09:00:00.000001-09:10"),
    )
    first = datetime.combine(at(1, 0).date(), time(9, 0, 0, 1), tzinfo=UTC)
    assert upcoming(window, after=at(1, 0), count=3) == [
        first, first + timedelta(minutes=5), first + timedelta(days=1)
    ]  # fmt: skip
