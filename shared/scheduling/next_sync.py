"""When a schedule runs next, computed from window instances rather than by stepping the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from shared.scheduling.errors import ScheduleError
from shared.scheduling.schedule_spec import ScheduleSpec
from shared.scheduling.sync_window import SyncWindow, WindowKind
from shared.scheduling.utc import as_utc

_ONE_DAY = timedelta(days=1)
# An instance starting yesterday may cross midnight into `after`'s day; the next listed weekday
# is at most 7 days ahead, so yesterday plus 8 days always holds the next run.
_DAYS_SCANNED = 9


def next_sync(spec: ScheduleSpec, *, after: datetime) -> datetime | None:
    """Earliest run time strictly after `after` (aware UTC). None for Manual Sync Only."""
    after = as_utc(after, "after")
    period = spec.interval.period
    if period is None:
        return None
    first_day = after.date() - _ONE_DAY
    for offset in range(_DAYS_SCANNED):
        instance = _instance_on(spec.window, first_day + offset * _ONE_DAY)
        if instance is None:
            continue
        start, end = instance
        if start > after:
            return start
        steps = (after - start) // period + 1
        candidate = start + steps * period
        if candidate < end:
            return candidate
    raise AssertionError(f"no run within {_DAYS_SCANNED} days of {after} for {spec!r}")


def in_window(spec: ScheduleSpec, moment: datetime) -> bool:
    """Whether a run started at `moment` (aware UTC) is inside the schedule's window: always for
    Any time, never for a Specific time (its run is the one at that time)."""
    moment = as_utc(moment, "moment")
    if spec.window.kind is WindowKind.SPECIFIC_TIME:
        return False
    for day in (moment.date() - _ONE_DAY, moment.date()):
        instance = _instance_on(spec.window, day)
        if instance is not None and instance[0] <= moment < instance[1]:
            return True
    return False


def upcoming(spec: ScheduleSpec, *, after: datetime, count: int) -> list[datetime]:
    """The next `count` run times (for the CLI to show a timetable)."""
    if count < 0:
        raise ScheduleError(f"count must be zero or more, got {count}")
    runs: list[datetime] = []
    moment = as_utc(after, "after")
    while len(runs) < count:
        run = next_sync(spec, after=moment)
        if run is None:
            break
        runs.append(run)
        moment = run
    return runs


def _instance_on(window: SyncWindow, day: date) -> tuple[datetime, datetime] | None:
    """The window instance starting on `day` as [start, end), or None if none starts that day."""
    if window.kind is WindowKind.ANY_TIME:
        start_time, end_time = time(0, 0), time(0, 0)
    elif window.kind is WindowKind.SPECIFIC_TIME:
        assert window.at is not None
        start_time, end_time = window.at, window.at
    else:
        if day.weekday() not in window.days:
            return None
        assert window.start is not None and window.end is not None
        start_time, end_time = window.start, window.end
    start = datetime.combine(day, start_time, tzinfo=UTC)
    end = datetime.combine(day, end_time, tzinfo=UTC)
    if end <= start:
        end += _ONE_DAY
    return start, end
