"""When in the week a sync may run: any time, some days between two UTC times, or one time."""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.scheduling.errors import ScheduleError
from shared.scheduling.utc import utc_time_of_day
from shared.scheduling.weekdays import Weekday
from shared.scheduling.window_text import (
    CLOCK_PATTERN,
    describe_days,
    format_clock,
    parse_clock,
    parse_days,
)


class WindowKind(StrEnum):
    ANY_TIME = "Any time"
    DAYS = "Days of week"
    SPECIFIC_TIME = "Specific time"


_ANY_TIME_TEXT = re.compile(r"any(?: ?time)?")
_SPECIFIC_TEXT = re.compile(rf"specific(?: time)?:? \(?(?P<at>{CLOCK_PATTERN})(?: utc)?\)?")
_DAYS_TEXT = re.compile(
    rf"(?P<days>[a-z][a-z ,-]*?):? \(?(?P<start>{CLOCK_PATTERN}) ?(?:-|to) ?"
    rf"(?P<end>{CLOCK_PATTERN})(?: utc)?\)?"
)
_PARSE_HELP = (
    "write 'any', 'specific 07:30', or days and UTC times such as "
    "'mon-fri 18:00-08:00' or 'mon,wed,sat 09:00-17:00'"
)


class SyncWindow(BaseModel):
    """Times are naive `time` objects meaning UTC. A DAYS instance starts on each listed day at
    `start` and ends at `end`, the next day when `end <= start` (equal times: 24 hours)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: WindowKind = WindowKind.ANY_TIME
    days: frozenset[Weekday] = frozenset()
    start: time | None = None
    end: time | None = None
    at: time | None = None

    @field_validator("start", "end", "at")
    @classmethod
    def _times_are_utc(cls, value: time | None) -> time | None:
        return None if value is None else utc_time_of_day(value, "A sync window time")

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Self:
        if self.kind is WindowKind.ANY_TIME:
            if self.days or self._has_any(self.start, self.end, self.at):
                raise ScheduleError("The Any time window takes no days, start, end or time")
        elif self.kind is WindowKind.DAYS:
            if not self.days:
                raise ScheduleError("The Days of week window needs at least one day")
            if self.start is None or self.end is None:
                raise ScheduleError("The Days of week window needs a start time and an end time")
            if self.at is not None:
                raise ScheduleError(
                    "The Days of week window takes a start and an end, not a specific time"
                )
        else:
            if self.at is None:
                raise ScheduleError("The Specific time window needs a time")
            if self.days or self._has_any(self.start, self.end):
                raise ScheduleError("The Specific time window takes only a time, no days or range")
        return self

    @staticmethod
    def _has_any(*values: time | None) -> bool:
        return any(value is not None for value in values)

    def describe(self) -> str:
        """e.g. "Any time", "Monday to Friday (18:00-08:00 UTC)", "Specific time (07:30 UTC)"."""
        if self.kind is WindowKind.DAYS:
            assert self.start is not None and self.end is not None
            span = f"{format_clock(self.start)}-{format_clock(self.end)}"
            return f"{describe_days(self.days)} ({span} UTC)"
        if self.kind is WindowKind.SPECIFIC_TIME:
            assert self.at is not None
            return f"Specific time ({format_clock(self.at)} UTC)"
        return "Any time"

    @classmethod
    def parse(cls, text: str, *, whole_minutes: bool = False) -> SyncWindow:
        """Read the CLI form ("any", "mon-fri 18:00-08:00", "specific 07:30") or `describe()`'s;
        `whole_minutes` refuses times with seconds (see `parse_clock`)."""
        cleaned = " ".join(text.strip().lower().replace("\u2013", "-").split())
        if _ANY_TIME_TEXT.fullmatch(cleaned):
            return cls()
        if match := _SPECIFIC_TEXT.fullmatch(cleaned):
            at = parse_clock(match["at"], whole_minutes=whole_minutes)
            return cls(kind=WindowKind.SPECIFIC_TIME, at=at)
        if match := _DAYS_TEXT.fullmatch(cleaned):
            return cls(
                kind=WindowKind.DAYS,
                days=parse_days(match["days"]),
                start=parse_clock(match["start"], whole_minutes=whole_minutes),
                end=parse_clock(match["end"], allow_midnight_24=True, whole_minutes=whole_minutes),
            )
        raise ScheduleError(f"Cannot read the sync window {text!r}: {_PARSE_HELP}")
