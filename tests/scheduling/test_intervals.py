"""Interval names and periods, as the schedule screen lists them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.scheduling import Interval, Weekday


@pytest.mark.parametrize(
    ("interval", "label", "period"),
    [
        (Interval.MANUAL, "Manual Sync Only", None),
        (Interval.MINUTES_5, "5 minutes", timedelta(minutes=5)),
        (Interval.MINUTES_10, "10 minutes", timedelta(minutes=10)),
        (Interval.MINUTES_15, "15 minutes", timedelta(minutes=15)),
        (Interval.MINUTES_30, "30 minutes", timedelta(minutes=30)),
        (Interval.HOURS_1, "1 hour", timedelta(hours=1)),
        (Interval.HOURS_2, "2 hours", timedelta(hours=2)),
        (Interval.HOURS_4, "4 hours", timedelta(hours=4)),
        (Interval.HOURS_6, "6 hours", timedelta(hours=6)),
        (Interval.HOURS_8, "8 hours", timedelta(hours=8)),
        (Interval.HOURS_12, "12 hours", timedelta(hours=12)),
        (Interval.ONCE_A_DAY, "Once a day", timedelta(days=1)),
    ],
)
def test_interval_label_and_period(
    interval: Interval, label: str, period: timedelta | None
) -> None:
    assert interval.value == label
    assert Interval(label) is interval
    assert interval.period == period


def test_the_screen_offers_exactly_twelve_intervals() -> None:
    assert len(Interval) == 12


def test_weekday_numbers_match_datetime_weekday() -> None:
    monday = date(2024, 1, 1)
    for offset, day in enumerate(Weekday):
        assert (monday + timedelta(days=offset)).weekday() == day
    assert Weekday.SUNDAY.label == "Sunday"
