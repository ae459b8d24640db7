"""Hypothesis strategies for schedules and UTC moments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from hypothesis import strategies as st

from shared.scheduling import Interval, ScheduleSpec, SyncWindow, Weekday, WindowKind

whole_minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))
any_times = st.times()  # seconds and microseconds too
weekday_sets = st.frozensets(st.sampled_from(Weekday), min_size=1)
scheduled_intervals = st.sampled_from([i for i in Interval if i is not Interval.MANUAL])
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))

_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
# Whole minutes and hours as well, so `after` often lands exactly on a run or a window edge.
utc_moments = st.one_of(
    _instants,
    _instants.map(lambda moment: moment.replace(second=0, microsecond=0)),
    _instants.map(lambda moment: moment.replace(minute=0, second=0, microsecond=0)),
)


@st.composite
def windows(draw: st.DrawFn, times: st.SearchStrategy[time] = whole_minutes) -> SyncWindow:
    kind = draw(st.sampled_from(WindowKind))
    if kind is WindowKind.ANY_TIME:
        return SyncWindow()
    if kind is WindowKind.SPECIFIC_TIME:
        return SyncWindow(kind=kind, at=draw(times))
    start = draw(times)
    end = draw(st.one_of(st.just(start), times))  # equal times (24-hour instances) are rare else
    return SyncWindow(kind=kind, days=draw(weekday_sets), start=start, end=end)


@st.composite
def scheduled_specs(
    draw: st.DrawFn, times: st.SearchStrategy[time] = whole_minutes
) -> ScheduleSpec:
    """Any valid spec that runs (not Manual Sync Only)."""
    window = draw(windows(times))
    if window.kind is WindowKind.SPECIFIC_TIME:
        return ScheduleSpec(interval=Interval.ONCE_A_DAY, window=window)
    return ScheduleSpec(interval=draw(scheduled_intervals), window=window)
