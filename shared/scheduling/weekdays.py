"""Days of the week, numbered as `datetime.weekday()` numbers them."""

from __future__ import annotations

from enum import IntEnum


class Weekday(IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6

    @property
    def label(self) -> str:
        """The day as the schedule screen writes it, e.g. "Monday"."""
        return self.name.capitalize()
