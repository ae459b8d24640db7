"""ScheduleSpec validation: Specific time belongs to Once a day only."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from shared.scheduling import (
    Interval,
    ScheduleError,
    ScheduleSpec,
    SyncWindow,
    Weekday,
    WindowKind,
    next_sync,
    upcoming,
)

SEVEN_THIRTY = SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=time(7, 30))
NOON = datetime(2024, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("interval", [i for i in Interval if i is not Interval.ONCE_A_DAY])
def test_specific_time_with_any_other_interval_is_refused(interval: Interval) -> None:
    with pytest.raises(
        ScheduleError,
        match="The Specific time window is only available for the interval Once a day",
    ):
        ScheduleSpec(interval=interval, window=SEVEN_THIRTY)


def test_specific_time_with_once_a_day_is_accepted() -> None:
    spec = ScheduleSpec(interval=Interval.ONCE_A_DAY, window=SEVEN_THIRTY)
    assert spec.window.at == time(7, 30)


def test_default_is_manual_any_time_and_never_scheduled() -> None:
    spec = ScheduleSpec()
    assert spec == ScheduleSpec(interval=Interval.MANUAL, window=SyncWindow())
    assert next_sync(spec, after=NOON) is None
    assert upcoming(spec, after=NOON, count=5) == []


def test_manual_keeps_a_days_window_but_never_runs() -> None:
    window = SyncWindow.parse("mon-fri 18:00-08:00")
    assert next_sync(ScheduleSpec(interval=Interval.MANUAL, window=window), after=NOON) is None


def test_spec_reads_the_stored_labels_and_survives_json() -> None:
    stored = {
        "interval": "4 hours",
        "window": {"kind": "Days of week", "days": [0, 4], "start": "18:00", "end": "08:00"},
    }
    spec = ScheduleSpec.model_validate(stored)
    assert spec.interval is Interval.HOURS_4
    assert spec.window.days == frozenset({Weekday.MONDAY, Weekday.FRIDAY})
    assert ScheduleSpec.model_validate_json(spec.model_dump_json()) == spec


def test_spec_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate({"interval": "4 hours", "every": "day"})
