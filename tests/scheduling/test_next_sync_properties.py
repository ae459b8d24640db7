"""Properties of next_sync over random schedules, checked against a brute-force reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.scheduling import (
    Interval,
    ScheduleSpec,
    SyncWindow,
    WindowKind,
    next_sync,
    upcoming,
)
from tests.scheduling.reference import reference_next
from tests.scheduling.strategies import any_times, scheduled_specs, utc_moments, windows

ONE_DAY = timedelta(days=1)
ONE_MICROSECOND = timedelta(microseconds=1)


def instances_containing(spec: ScheduleSpec, moment: datetime) -> list[tuple[datetime, datetime]]:
    """The window instances [start, end) that contain `moment`, straight from the product rules."""
    window = spec.window
    found = []
    for day in (moment.date() - ONE_DAY, moment.date()):
        if window.kind is WindowKind.SPECIFIC_TIME:
            assert window.at is not None
            start = datetime.combine(day, window.at, tzinfo=UTC)
            end = start + ONE_DAY
        elif window.kind is WindowKind.ANY_TIME:
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            end = start + ONE_DAY
        else:
            if day.weekday() not in window.days:
                continue
            assert window.start is not None and window.end is not None
            start = datetime.combine(day, window.start, tzinfo=UTC)
            end = datetime.combine(day, window.end, tzinfo=UTC)
            end += ONE_DAY if end <= start else timedelta(0)
        if start <= moment < end:
            found.append((start, end))
    return found


def sync(spec: ScheduleSpec, after: datetime) -> datetime:
    result = next_sync(spec, after=after)
    assert result is not None
    return result


@settings(max_examples=400, deadline=None)
@given(spec=scheduled_specs(), after=utc_moments)
def test_next_sync_is_the_first_run_a_minute_by_minute_walk_finds(
    spec: ScheduleSpec, after: datetime
) -> None:
    result = sync(spec, after)
    assert result > after
    assert result.tzinfo is UTC
    # The walk checks every minute between `after` and the result, so nothing earlier was missed.
    assert result == reference_next(spec, after)


@settings(max_examples=300, deadline=None)
@given(spec=scheduled_specs(any_times), after=utc_moments)
def test_result_lies_in_exactly_one_instance_on_its_interval_grid(
    spec: ScheduleSpec, after: datetime
) -> None:
    result = sync(spec, after)
    period = spec.interval.period
    assert period is not None
    assert result > after
    [(start, _end)] = instances_containing(spec, result)
    assert (result - start) % period == timedelta(0)
    if spec.window.kind is WindowKind.SPECIFIC_TIME:
        assert result.time() == spec.window.at


@settings(max_examples=300, deadline=None)
@given(spec=scheduled_specs(any_times), after=utc_moments, fraction=st.floats(0, 1))
def test_every_moment_before_a_run_leads_to_that_run(
    spec: ScheduleSpec, after: datetime, fraction: float
) -> None:
    result = sync(spec, after)
    assert sync(spec, result - ONE_MICROSECOND) == result
    between = after + (result - after) * fraction
    if between < result:
        assert sync(spec, between) == result


@settings(max_examples=150, deadline=None)
@given(spec=scheduled_specs(), after=utc_moments)
def test_repeated_application_walks_the_timetable_in_strictly_increasing_order(
    spec: ScheduleSpec, after: datetime
) -> None:
    runs = upcoming(spec, after=after, count=8)
    assert len(runs) == 8
    previous = after
    for run in runs:
        assert run > previous
        assert run == sync(spec, previous) == reference_next(spec, previous)
        previous = run


@settings(max_examples=100, deadline=None)
@given(window=windows(), after=utc_moments)
def test_manual_sync_only_is_never_scheduled(window: SyncWindow, after: datetime) -> None:
    assume(window.kind is not WindowKind.SPECIFIC_TIME)
    spec = ScheduleSpec(interval=Interval.MANUAL, window=window)
    assert next_sync(spec, after=after) is None
    assert upcoming(spec, after=after, count=3) == []
