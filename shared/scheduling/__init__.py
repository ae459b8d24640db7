"""Sync schedules: intervals, sync windows and the next run time, as pure functions of UTC time."""

from __future__ import annotations

from shared.scheduling.errors import ScheduleError
from shared.scheduling.intervals import Interval
from shared.scheduling.next_sync import in_window, next_sync, upcoming
from shared.scheduling.once_a_day import schedule_once_a_day
from shared.scheduling.schedule_spec import ScheduleSpec
from shared.scheduling.sync_window import SyncWindow, WindowKind
from shared.scheduling.weekdays import Weekday

__all__ = [
    "Interval",
    "ScheduleError",
    "ScheduleSpec",
    "SyncWindow",
    "Weekday",
    "WindowKind",
    "in_window",
    "next_sync",
    "schedule_once_a_day",
    "upcoming",
]
