"""The Once a day rule for a chosen "Next Synchronisation" date and optional time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from shared.scheduling.errors import ScheduleError
from shared.scheduling.intervals import Interval
from shared.scheduling.schedule_spec import ScheduleSpec
from shared.scheduling.sync_window import SyncWindow, WindowKind
from shared.scheduling.utc import as_utc, utc_time_of_day


def schedule_once_a_day(
    *, on: date, at: time | None, current_next: datetime | None, now: datetime
) -> tuple[ScheduleSpec, datetime]:
    """Return (ScheduleSpec(ONCE_A_DAY, Specific time at that time), first run datetime).

    The first run is `on` at `at` (UTC); without `at`, the time of day of `current_next` is kept.
    Later runs are daily at that time: `next_sync(spec, after=first)` gives the day after.
    """
    now = as_utc(now, "now")
    if isinstance(on, datetime):
        raise ScheduleError("on must be a date without a time; pass the time as at")
    if at is None:
        if current_next is None:
            raise ScheduleError(
                "Choose a time for the next synchronisation: there is no current next sync "
                "to keep the time of day from"
            )
        at = as_utc(current_next, "current_next").time()
    else:
        at = utc_time_of_day(at, "at")
    first = datetime.combine(on, at, tzinfo=UTC)
    if first <= now:
        raise ScheduleError(
            f"Choose a date and time in the future: {first:%Y-%m-%d %H:%M} UTC is not after "
            f"now ({now:%Y-%m-%d %H:%M} UTC)"
        )
    window = SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=at)
    return ScheduleSpec(interval=Interval.ONCE_A_DAY, window=window), first
