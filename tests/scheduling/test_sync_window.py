"""Sync windows: validation, describe() and parse()."""

from __future__ import annotations

from datetime import UTC, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from shared.scheduling import ScheduleError, SyncWindow, Weekday, WindowKind
from tests.scheduling.strategies import any_times, windows

MON, TUE, WED, THU, FRI, SAT, SUN = Weekday
WEEKDAYS = frozenset({MON, TUE, WED, THU, FRI})


def days_window(days: set[Weekday], start: time, end: time) -> SyncWindow:
    return SyncWindow(kind=WindowKind.DAYS, days=frozenset(days), start=start, end=end)


def test_default_is_any_time() -> None:
    assert SyncWindow() == SyncWindow(kind=WindowKind.ANY_TIME)
    assert SyncWindow().describe() == "Any time"


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (SyncWindow(), "Any time"),
        (days_window(set(WEEKDAYS), time(18), time(8)), "Monday to Friday (18:00-08:00 UTC)"),
        (days_window({MON, WED}, time(9), time(17)), "Monday, Wednesday (09:00-17:00 UTC)"),
        (SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=time(7, 30)), "Specific time (07:30 UTC)"),
        (days_window(set(Weekday), time(0), time(0)), "Every day (00:00-00:00 UTC)"),
        (days_window({SAT, SUN}, time(22), time(2)), "Saturday, Sunday (22:00-02:00 UTC)"),
        (
            days_window({MON, TUE, WED, FRI, SUN}, time(6, 5), time(6, 5, 30)),
            "Monday to Wednesday, Friday, Sunday (06:05-06:05:30 UTC)",
        ),
    ],
)
def test_describe(window: SyncWindow, text: str) -> None:
    assert window.describe() == text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": WindowKind.DAYS, "start": time(9), "end": time(17)}, "at least one day"),
        ({"kind": WindowKind.DAYS, "days": {MON}, "end": time(17)}, "start time and an end"),
        ({"kind": WindowKind.DAYS, "days": {MON}, "start": time(9)}, "start time and an end"),
        (
            {
                "kind": WindowKind.DAYS,
                "days": {MON},
                "start": time(9),
                "end": time(17),
                "at": time(9),
            },
            "not a specific time",
        ),
        ({"kind": WindowKind.SPECIFIC_TIME}, "Specific time window needs a time"),
        ({"kind": WindowKind.SPECIFIC_TIME, "at": time(7), "days": {MON}}, "takes only a time"),
        ({"kind": WindowKind.SPECIFIC_TIME, "at": time(7), "start": time(7)}, "takes only a time"),
        ({"days": {MON}}, "Any time window takes no days"),
        ({"at": time(0)}, "Any time window takes no days"),
        ({"start": time(0), "end": time(0)}, "Any time window takes no days"),
    ],
)
def test_invalid_windows_are_refused_with_a_clear_message(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ScheduleError, match=message) as caught:
        SyncWindow.model_validate(fields)
    assert "\n" not in str(caught.value)  # one line, as the CLI prints it


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "Sometimes"}, "Any time"),
        ({"kind": WindowKind.DAYS, "days": {7}, "start": time(9), "end": time(17)}, "days"),
    ],
)
def test_values_of_the_wrong_type_are_refused_by_pydantic(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        SyncWindow.model_validate(fields)


def test_times_must_be_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    with pytest.raises(ScheduleError, match="must be a UTC time of day"):
        SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=time(7, tzinfo=plus_two))
    window = SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=time(7, tzinfo=UTC))
    assert window.at == time(7)
    assert window.at.tzinfo is None


def test_windows_are_frozen_and_hashable() -> None:
    window = days_window({MON}, time(9), time(17))
    with pytest.raises(ValidationError):
        window.start = time(10)  # type: ignore[misc]
    assert hash(window) == hash(days_window({MON}, time(9), time(17)))


def test_window_survives_a_json_round_trip() -> None:
    window = days_window({MON, FRI}, time(18), time(8))
    assert SyncWindow.model_validate_json(window.model_dump_json()) == window


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any", SyncWindow()),
        ("Any time", SyncWindow()),
        ("  ANYTIME ", SyncWindow()),
        ("specific 07:30", SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=time(7, 30))),
        ("Specific time (7:30 UTC)", SyncWindow(kind=WindowKind.SPECIFIC_TIME, at=time(7, 30))),
        ("mon-fri 18:00-08:00", days_window(set(WEEKDAYS), time(18), time(8))),
        ("MON-FRI 18:00-08:00", days_window(set(WEEKDAYS), time(18), time(8))),
        ("mon,wed,sat 09:00-17:00", days_window({MON, WED, SAT}, time(9), time(17))),
        ("mon, wed , sat 09:00 - 17:00", days_window({MON, WED, SAT}, time(9), time(17))),
        ("tues,thurs 09:00-17:00", days_window({TUE, THU}, time(9), time(17))),
        ("fri-mon 22:00-02:00", days_window({FRI, SAT, SUN, MON}, time(22), time(2))),
        ("sat-sun 22:00-24:00", days_window({SAT, SUN}, time(22), time(0))),
        ("weekdays 09:00 to 17:00", days_window(set(WEEKDAYS), time(9), time(17))),
        ("weekends 00:00-00:00", days_window({SAT, SUN}, time(0), time(0))),
        ("daily 06:00-18:00", days_window(set(Weekday), time(6), time(18))),
        ("Monday to Friday (18:00-08:00 UTC)", days_window(set(WEEKDAYS), time(18), time(8))),
        ("mon 09:00:30-17:00:00.25", days_window({MON}, time(9, 0, 30), time(17, 0, 0, 250000))),
    ],
)
def test_parse(text: str, expected: SyncWindow) -> None:
    assert SyncWindow.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Cannot read the sync window ''"),
        ("sometimes", "write 'any', 'specific 07:30', or days"),
        ("specific", "Cannot read the sync window"),
        ("mon-fri", "Cannot read the sync window"),
        ("mon-fri 18:00", "Cannot read the sync window"),
        ("mon-fry 18:00-08:00", "'fry' is not a day"),
        ("mo 18:00-08:00", "'mo' is not a day"),
        ("mon-wed-fri 18:00-08:00", "'mon-wed-fri' is not a day or a range"),
        ("mon,,fri 18:00-08:00", "'' is not a day"),
        ("mon 25:00-08:00", "a time of day is 00:00 to 23:59"),
        ("mon 09:60-10:00", "a time of day is 00:00 to 23:59"),
        ("mon 24:00-08:00", "a time of day is 00:00 to 23:59"),
        ("specific 24:00", "a time of day is 00:00 to 23:59"),
    ],
)
def test_parse_refuses_with_a_helpful_message(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        SyncWindow.parse(text)


@pytest.mark.parametrize(
    "text", ["specific 07:30:45", "mon-fri 18:00:01-08:00", "daily 06:00-18:00:00.5"]
)
def test_whole_minutes_refuses_seconds_instead_of_cutting_them(text: str) -> None:
    with pytest.raises(ScheduleError, match="schedules keep whole minutes; write it as HH:MM"):
        SyncWindow.parse(text, whole_minutes=True)
    assert SyncWindow.parse("sat-sun 22:00-24:00", whole_minutes=True).end == time(0)


@settings(max_examples=300, deadline=None)
@given(windows(any_times))
def test_parse_reads_back_what_describe_writes(window: SyncWindow) -> None:
    assert SyncWindow.parse(window.describe()) == window
    assert SyncWindow.parse(window.describe().upper()) == window


@settings(max_examples=200, deadline=None)
@given(windows())
def test_describe_is_stable_through_parse(window: SyncWindow) -> None:
    text = window.describe()
    assert SyncWindow.parse(text).describe() == text
