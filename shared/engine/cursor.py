"""Typed, versioned run cursors: what a slice saves so the next one resumes where it stopped.

Each sync type subclasses `Cursor` with its own fields. A cursor is validated when it is loaded
(an unreadable or foreign one is a clear audit message, not a crash) and refused when it grows
past `MAX_CURSOR_BYTES`: a Table property holds 64 KiB, and large state belongs in rows of its
own (the list snapshot), never in the cursor.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import FatalError

MAX_CURSOR_BYTES = 32 * 1024  # half a Table property: room for growth inside one slice


class CursorError(FatalError):
    """A saved cursor that cannot be used; the run fails with this message."""


class Cursor(BaseModel):
    """Base of every cursor. Bump `version` when a change makes old cursors unreadable."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    version: ClassVar[int] = 1


C = TypeVar("C", bound=Cursor)


def load_cursor(kind: type[C], saved: dict[str, Any]) -> C:
    """The cursor a slice resumes from; `saved` is what `dump_cursor` stored."""
    version = saved.get("v", kind.version)
    if version != kind.version:
        raise CursorError(
            f"The saved progress of this run is from another version of the connector "
            f"(cursor version {version}, expected {kind.version}); start the sync again."
        )
    try:
        return kind.model_validate(saved.get("state", {}))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "cursor"
        raise CursorError(
            f"The saved progress of this run is unreadable ({where}: {first['msg']}); "
            "start the sync again."
        ) from error


def dump_cursor(cursor: Cursor) -> dict[str, Any]:
    """JSON-safe form, size-checked; raises CursorError rather than write an oversize row."""
    saved = {"v": cursor.version, "state": cursor.model_dump(mode="json")}
    size = len(cursor.model_dump_json())
    if size > MAX_CURSOR_BYTES:
        raise CursorError(
            f"{type(cursor).__name__} grew to {size:,} bytes, over the {MAX_CURSOR_BYTES:,} a "
            "checkpoint may hold; this is a defect of the sync type (large state goes to rows "
            "of its own)."
        )
    return saved
