"""Watermark windows: captured before reading, held back by retriable failures, kept on a
source that could not be read, and stored in Table Storage only by commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.engine.watermark import Watermarks, WatermarkWindow
from shared.runtime import Runtime

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
EARLIER = START - timedelta(hours=2)


def test_a_clean_run_moves_the_watermark_to_its_start() -> None:
    window = WatermarkWindow(key="k", started=START, since=EARLIER)
    assert window.next_value() == START
    assert window.read_from(timedelta(minutes=1)) == EARLIER - timedelta(minutes=1)


def test_a_first_run_reads_everything() -> None:
    assert WatermarkWindow(key="k", started=START).read_from(timedelta(minutes=1)) is None


def test_a_retriable_failure_holds_the_watermark_at_that_change() -> None:
    window = WatermarkWindow(key="k", started=START, since=EARLIER)
    window.hold_back(START - timedelta(minutes=30))
    window.hold_back(START - timedelta(minutes=10))  # a later change does not move it forward
    assert window.next_value() == START - timedelta(minutes=30)


def test_a_source_that_could_not_be_read_keeps_the_old_watermark() -> None:
    window = WatermarkWindow(key="k", started=START, since=EARLIER)
    window.hold_back(START - timedelta(minutes=30))
    window.keep_old()
    assert window.next_value() is None


@given(st.lists(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1))))
def test_the_next_watermark_never_passes_the_run_start(holds: list[datetime]) -> None:
    window = WatermarkWindow(key="k", started=START)
    for moment in holds:
        window.hold_back(moment.replace(tzinfo=UTC))
    value = window.next_value()
    assert value is not None and value <= START
    assert all(value <= h.replace(tzinfo=UTC) for h in holds)


def test_only_commit_stores_it(runtime: Runtime) -> None:
    marks = Watermarks(runtime.state, "acme")
    first = marks.open("Example-Watermark", START)
    assert first.since is None
    assert marks.open("Example-Watermark", START).since is None  # opening writes nothing
    marks.commit(first, START)
    assert marks.open("Example-Watermark", START + timedelta(hours=1)).since == START
