"""Reading and writing the pieces of a sync window as text: times of day and sets of days."""

from __future__ import annotations

import re
from datetime import time

from shared.scheduling.errors import ScheduleError
from shared.scheduling.weekdays import Weekday

CLOCK_PATTERN = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")
_RANGE_SEPARATOR = re.compile(r"\s*-\s*|\s+to\s+")
_EVERY_DAY = frozenset(Weekday)
_DAY_ALIASES: dict[str, frozenset[Weekday]] = {
    "every day": _EVERY_DAY,
    "everyday": _EVERY_DAY,
    "daily": _EVERY_DAY,
    "weekdays": frozenset(Weekday) - {Weekday.SATURDAY, Weekday.SUNDAY},
    "weekends": frozenset({Weekday.SATURDAY, Weekday.SUNDAY}),
    "weekend": frozenset({Weekday.SATURDAY, Weekday.SUNDAY}),
}


def format_clock(value: time) -> str:
    """HH:MM, or HH:MM:SS[.ffffff] when the time is not a whole minute."""
    if value.second == 0 and value.microsecond == 0:
        return value.strftime("%H:%M")
    return value.replace(tzinfo=None).isoformat()


def parse_clock(text: str, *, allow_midnight_24: bool = False, whole_minutes: bool = False) -> time:
    """A UTC time of day from HH:MM[:SS[.ffffff]]; "24:00" means the midnight that ends a day.
    `whole_minutes` refuses seconds: what an operator types is stored as HH:MM, and a time
    silently cut would run at another moment than the one typed."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ScheduleError(f"Cannot read the time {text!r}: write it as HH:MM, e.g. 07:30")
    hours, minutes = int(match[1]), int(match[2])
    seconds = int(match[3] or 0)
    micros = int((match[4] or "").ljust(6, "0"))
    if allow_midnight_24 and hours == 24 and minutes == seconds == micros == 0:
        return time(0, 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ScheduleError(
            f"Cannot read the time {text!r}: a time of day is 00:00 to 23:59 (UTC); write it as "
            "HH:MM, e.g. 07:30"
        )
    if whole_minutes and match[3] is not None:
        raise ScheduleError(
            f"Cannot read the time {text!r}: schedules keep whole minutes; write it as HH:MM, "
            "e.g. 07:30"
        )
    return time(hours, minutes, seconds, micros)


def describe_days(days: frozenset[Weekday]) -> str:
    """e.g. "Monday to Friday", "Monday, Wednesday", "Every day"; runs of 3+ days become ranges."""
    if days == _EVERY_DAY:
        return "Every day"
    runs: list[list[Weekday]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] + 1 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{run[0].label} to {run[-1].label}")
        else:
            parts.extend(day.label for day in run)
    return ", ".join(parts)


def parse_days(text: str) -> frozenset[Weekday]:
    """Days from e.g. "mon-fri", "mon,wed,sat", "Monday to Wednesday, Friday", "fri-mon"."""
    days: set[Weekday] = set()
    for item in (part.strip() for part in text.lower().split(",")):
        if item in _DAY_ALIASES:
            days |= _DAY_ALIASES[item]
            continue
        ends = _RANGE_SEPARATOR.split(item)
        if len(ends) == 1:
            days.add(_parse_day(ends[0], text))
        elif len(ends) == 2:
            first, last = _parse_day(ends[0], text), _parse_day(ends[1], text)
            # Ranges wrap over the weekend, so "fri-mon" is Friday, Saturday, Sunday and Monday.
            span = (last - first) % 7
            days.update(Weekday((first + step) % 7) for step in range(span + 1))
        else:
            raise ScheduleError(f"Cannot read the days {text!r}: {item!r} is not a day or a range")
    return frozenset(days)


def _parse_day(name: str, whole: str) -> Weekday:
    name = name.strip()
    if len(name) >= 3:
        for day in Weekday:
            if day.name.lower().startswith(name):
                return day
    raise ScheduleError(
        f"Cannot read the days {whole!r}: {name!r} is not a day; "
        "use names such as mon, tue, wednesday, ranges such as mon-fri, or lists such as mon,wed"
    )
