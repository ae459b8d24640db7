"""Cursor models: validated on load, versioned, size-guarded on save."""

from __future__ import annotations

from typing import ClassVar

import pytest

from shared.engine.cursor import MAX_CURSOR_BYTES, Cursor, CursorError, dump_cursor, load_cursor


class PageCursor(Cursor):
    position: str | None = None
    done: list[str] = []


class PageCursorV2(PageCursor):
    version: ClassVar[int] = 2


def test_a_cursor_survives_the_round_trip() -> None:
    saved = dump_cursor(PageCursor(position="marker-7", done=["a", "b"]))
    assert load_cursor(PageCursor, saved) == PageCursor(position="marker-7", done=["a", "b"])


def test_an_unreadable_cursor_is_a_clear_message_not_a_crash() -> None:
    with pytest.raises(CursorError, match=r"unreadable \(done: .*start the sync again"):
        load_cursor(PageCursor, {"v": 1, "state": {"done": "not a list"}})


def test_a_field_the_model_does_not_know_is_refused() -> None:
    with pytest.raises(CursorError, match="unreadable"):
        load_cursor(PageCursor, {"v": 1, "state": {"skip": 3}})


def test_a_cursor_from_another_version_is_refused_by_name() -> None:
    saved = dump_cursor(PageCursor())
    with pytest.raises(CursorError, match="cursor version 1, expected 2"):
        load_cursor(PageCursorV2, saved)


def test_a_cursor_that_outgrows_a_table_property_is_refused_before_it_is_written() -> None:
    huge = PageCursor(done=["x" * 100] * (MAX_CURSOR_BYTES // 100 + 1))
    with pytest.raises(CursorError, match="large state goes to rows of its own"):
        dump_cursor(huge)
