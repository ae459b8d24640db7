"""One (account, sync type) schedule: an interval and the window it runs in."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from shared.scheduling.errors import ScheduleError
from shared.scheduling.intervals import Interval
from shared.scheduling.sync_window import SyncWindow, WindowKind


class ScheduleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: Interval = Interval.MANUAL
    window: SyncWindow = SyncWindow()

    @model_validator(mode="after")
    def _specific_time_needs_once_a_day(self) -> Self:
        specific = self.window.kind is WindowKind.SPECIFIC_TIME
        if specific and self.interval is not Interval.ONCE_A_DAY:
            raise ScheduleError(
                "The Specific time window is only available for the interval Once a day, not "
                f"{self.interval.value}: choose Once a day, or a window of days and times such as "
                "'mon-fri 07:30-09:00'"
            )
        return self
