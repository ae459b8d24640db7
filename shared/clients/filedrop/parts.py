"""One part of an import file, built in memory from rows: for a caller that keeps its progress
elsewhere (the file load keeps it in Table Storage, so a worker on another instance resumes
it) and uploads each part as soon as it is built, rather than exporting a whole folder first.

The bytes are those the writer (`writer.export`) gives the same rows: the header only in part
1, rows ending with LF, gzip parts as independent members (time 0, no name), so parts
concatenated are one valid file and the same rows always give the same bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.clients.filedrop.manifest import Rejection
from shared.clients.filedrop.text_format import (
    ImportFormat,
    Value,
    format_value,
    header_line,
    refusal,
)


@dataclass(frozen=True)
class EncodedPart:
    data: bytes
    rows: int
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class PartEncoder:
    """Rows in, one part out. `size` is the bytes so far (compressed ones when gzipped, as
    far as the compressor has flushed), for the caller to end the part near its target size."""

    def __init__(self, columns: list[str], *, key: str, format: ImportFormat, header: bool) -> None:
        self.columns = list(columns)
        self.key = key
        self.format = format
        self.rows = 0
        self.rejected: list[Rejection] = []
        self._buffer = io.BytesIO()
        self._gzip = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._buffer, mtime=0)
            if format.gzip
            else None
        )
        if header:
            self._write(header_line(self.columns, format.separator))

    @property
    def size(self) -> int:
        return self._buffer.tell()

    def _write(self, data: bytes) -> None:
        if self._gzip is not None:
            self._gzip.write(data)
        else:
            self._buffer.write(data)

    def add(self, row: Mapping[str, Value]) -> None:
        """Write the row, or list it in `rejected` when a value cannot be carried."""
        separator = self.format.separator
        cells: list[str] = []
        for column in self.columns:
            text = format_value(row.get(column))
            problem = refusal(text, separator)
            if problem:
                reason = (
                    f"{problem} ({self.format.separator_name}-separated file, no string delimiter)"
                )
                self.rejected.append(
                    Rejection(key=format_value(row.get(self.key)), column=column, reason=reason)
                )
                return
            cells.append(text)
        self._write((separator.join(cells) + "\n").encode())
        self.rows += 1

    def finish(self) -> EncodedPart:
        if self._gzip is not None:
            self._gzip.close()  # the member's trailer
        return EncodedPart(self._buffer.getvalue(), self.rows, list(self.rejected))
