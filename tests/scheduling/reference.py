"""A brute-force reference scheduler: minute-of-week arithmetic and a minute-by-minute walk."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from shared.scheduling import Interval, ScheduleSpec, WindowKind

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
HORIZON = timedelta(days=8)
_ONE_MINUTE = timedelta(minutes=1)
_A_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)


def _minute_of_day(value: time) -> int:
    assert value.second == 0 and value.microsecond == 0, "the reference needs whole minutes"
    return value.hour * 60 + value.minute


def run_minutes_of_week(spec: ScheduleSpec) -> frozenset[int]:
    """Every minute of the week (0 = Monday 00:00 UTC) at which `spec` runs."""
    period = spec.interval.period
    assert period is not None
    step = period // _ONE_MINUTE
    window = spec.window
    if window.kind is WindowKind.ANY_TIME:
        starts, length = [day * MINUTES_PER_DAY for day in range(7)], MINUTES_PER_DAY
    elif window.kind is WindowKind.SPECIFIC_TIME:
        assert window.at is not None
        at = _minute_of_day(window.at)
        starts, length = [day * MINUTES_PER_DAY + at for day in range(7)], MINUTES_PER_DAY
    else:
        assert window.start is not None and window.end is not None
        start, end = _minute_of_day(window.start), _minute_of_day(window.end)
        starts = [day * MINUTES_PER_DAY + start for day in window.days]
        length = (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY
    return frozenset(
        (first + offset) % MINUTES_PER_WEEK for first in starts for offset in range(0, length, step)
    )


def reference_next(spec: ScheduleSpec, after: datetime) -> datetime | None:
    """First run strictly after `after` found by trying every whole minute up to HORIZON ahead."""
    if spec.interval is Interval.MANUAL:
        return None
    runs = run_minutes_of_week(spec)
    candidate = after.replace(second=0, microsecond=0) + _ONE_MINUTE
    minute = ((candidate - _A_MONDAY) // _ONE_MINUTE) % MINUTES_PER_WEEK
    while candidate <= after + HORIZON:
        if minute in runs:
            return candidate
        candidate += _ONE_MINUTE
        minute = (minute + 1) % MINUTES_PER_WEEK
    return None
