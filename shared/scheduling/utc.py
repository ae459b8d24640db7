"""Guards that keep every moment the scheduler sees in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time

from shared.scheduling.errors import ScheduleError


def as_utc(moment: datetime, name: str) -> datetime:
    """`moment` as a UTC datetime; naive datetimes are refused because their instant is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleError(
            f"{name} must be a timezone-aware UTC datetime, got the naive {moment.isoformat()}"
        )
    return moment.astimezone(UTC)


def utc_time_of_day(value: time, name: str) -> time:
    """`value` as a naive time meaning UTC; a time carrying a non-UTC offset is refused."""
    if value.tzinfo is None:
        return value
    if value.utcoffset() != UTC.utcoffset(None):
        raise ScheduleError(
            f"{name} must be a UTC time of day, got {value.isoformat()} with another offset"
        )
    return value.replace(tzinfo=None)
