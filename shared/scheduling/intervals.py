"""How often a sync type runs, named as the schedule screen and the audit show it."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Interval(StrEnum):
    MANUAL = "Manual Sync Only"
    MINUTES_5 = "5 minutes"
    MINUTES_10 = "10 minutes"
    MINUTES_15 = "15 minutes"
    MINUTES_30 = "30 minutes"
    HOURS_1 = "1 hour"
    HOURS_2 = "2 hours"
    HOURS_4 = "4 hours"
    HOURS_6 = "6 hours"
    HOURS_8 = "8 hours"
    HOURS_12 = "12 hours"
    ONCE_A_DAY = "Once a day"

    @property
    def period(self) -> timedelta | None:
        """Time between two runs inside a window instance; None when never scheduled."""
        return _PERIODS[self]


_PERIODS: dict[Interval, timedelta | None] = {
    Interval.MANUAL: None,
    Interval.MINUTES_5: timedelta(minutes=5),
    Interval.MINUTES_10: timedelta(minutes=10),
    Interval.MINUTES_15: timedelta(minutes=15),
    Interval.MINUTES_30: timedelta(minutes=30),
    Interval.HOURS_1: timedelta(hours=1),
    Interval.HOURS_2: timedelta(hours=2),
    Interval.HOURS_4: timedelta(hours=4),
    Interval.HOURS_6: timedelta(hours=6),
    Interval.HOURS_8: timedelta(hours=8),
    Interval.HOURS_12: timedelta(hours=12),
    Interval.ONCE_A_DAY: timedelta(days=1),
}
