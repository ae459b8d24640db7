"""Dates and times an operator types on the command line, read with a hint of the expected form
when they do not parse (the one-line `Error: ...` of any refused input)."""

from __future__ import annotations

from datetime import date, datetime

from shared.errors import BadInputError


def utc_moment(text: str) -> datetime:
    """A UTC date, or date and time: 2026-11-20, 2026-11-20T07:30, 2026-11-20 07:30:15."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(
            f"Cannot read the UTC date and time {text!r}: write it as YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM, e.g. 2026-11-20 or 2026-11-20T07:30"
        ) from None


def day(text: str) -> date:
    """A calendar date: 2026-12-01."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(
            f"Cannot read the date {text!r}: write it as YYYY-MM-DD, e.g. 2026-12-01"
        ) from None
