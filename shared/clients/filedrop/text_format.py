"""The flat-file format Campaign's import workflow loads: tab- or `;`-separated, a header row,
no string delimiter, dates as `YYYY/MM/DD HH:mm:SS`, UTF-8, optionally gzip.

With no string delimiter there is no way to quote or escape a value: a separator, CR or LF
inside one would be read as a column or row break, and an escape sequence (`\\t`) would be
loaded literally. So such a value is refused, never altered: `refusal()` names the problem,
the writer skips the row and reports its key, and the caller sends that record over the API,
which has no such limit. Silently replacing the character would change the customer's data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

Separator = Literal["\t", ";"]
Value = str | int | float | Decimal | bool | dt.datetime | dt.date | None

_DATE_TIME = "%Y/%m/%d %H:%M:%S"
_DATE = "%Y/%m/%d"


class ImportFormat(BaseModel):
    """How the file is written: the separator and whether it is gzipped."""

    model_config = ConfigDict(frozen=True)

    separator: Separator = "\t"
    gzip: bool = False

    @property
    def separator_name(self) -> str:
        return "tab" if self.separator == "\t" else "';'"

    def file_name(self, stem: str) -> str:
        """The remote file's name: `.txt`, plus `.gz` when gzipped (the workflow's Load file
        activity decompresses by that setting)."""
        if not stem or any(c in stem for c in "/\\\t\r\n"):
            raise ValueError(f"a file name stem without separators, got {stem!r}")
        return f"{stem}.txt.gz" if self.gzip else f"{stem}.txt"


def format_value(value: Value) -> str:
    """One value as the import reads it. Dates are written in UTC (the workflow's import is
    set up with that time zone); a naive datetime is refused as a bug, since its zone is
    unknown. Booleans are 1/0, which Campaign's boolean columns take."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"a timezone-aware datetime, got naive {value!r}")
        return value.astimezone(dt.UTC).strftime(_DATE_TIME)
    if isinstance(value, dt.date):
        return value.strftime(_DATE)
    if isinstance(value, Decimal | int | float):
        return str(value)
    return value


def refusal(text: str, separator: Separator) -> str | None:
    """Why a formatted value cannot go into the file, or None when it can."""
    if separator in text:
        return "contains the separator"
    if "\n" in text or "\r" in text:
        return "contains a line break"
    return None


def header_line(columns: list[str], separator: Separator) -> bytes:
    """The header row: the column names, which must themselves fit the format."""
    for column in columns:
        problem = refusal(column, separator) if column else "is empty"
        if problem:
            raise ValueError(f"column name {column!r} {problem}")
    return (separator.join(columns) + "\n").encode()
