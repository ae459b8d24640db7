"""The export writer: rows in, the import file out as numbered parts of about `part_size` bytes
each, streamed (one row and one write buffer in memory at a time), with the manifest saved
after every part.

A part ends at the first row boundary at or past `part_size` bytes (compressed bytes when
gzipped), so every part but the last is at least that big (S3's 5 MiB minimum for a multipart
part holds) and no row is ever split. Gzip parts are independent members (header time 0, no
name), so the same rows always give the same bytes and checksums.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from shared.clients.filedrop.manifest import Manifest, ManifestFile, Part, Rejection
from shared.clients.filedrop.text_format import (
    ImportFormat,
    Value,
    format_value,
    header_line,
    refusal,
)

MIN_PART_SIZE = 64 * 1024
DEFAULT_PART_SIZE = 16 * 1024 * 1024


class _CountingFile:
    """Writes to the part's file while counting and hashing the bytes that reach it."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.sha256.update(data)
        self.md5.update(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()


class _PartWriter:
    """One part being written: the plain or gzip stream over the counting file."""

    def __init__(self, path: Path, number: int, *, compress: bool) -> None:
        self.path = path
        self.number = number
        self.rows = 0
        self._file = path.open("wb")
        self._counter = _CountingFile(self._file)
        self._gzip = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._counter, mtime=0)
            if compress
            else None
        )

    @property
    def size(self) -> int:
        return self._counter.size

    def write(self, line: bytes) -> None:
        if self._gzip is not None:
            self._gzip.write(line)
        else:
            self._counter.write(line)

    def close(self) -> Part:
        if self._gzip is not None:
            self._gzip.close()  # writes the member's trailer through the counter
        self._file.close()
        return Part(
            number=self.number,
            file=self.path.name,
            size=self._counter.size,
            rows=self.rows,
            sha256=self._counter.sha256.hexdigest(),
            md5=self._counter.md5.hexdigest(),
        )


def export(
    rows: Iterable[Mapping[str, Value]],
    *,
    folder: Path,
    stem: str,
    columns: list[str],
    key: str,
    format: ImportFormat,
    part_size: int = DEFAULT_PART_SIZE,
) -> Manifest:
    """Write `rows` (each with the `columns`, missing ones empty) as the import file
    `<stem>.txt[.gz]` in parts under `folder`, and return the complete manifest.

    A folder whose manifest is complete for the same name, format, columns and part size is
    left as it is and that manifest returned (with its upload progress), so a resumed transfer
    can call this again; an unfinished or different export starts over (its rows are read
    again from the start). A row with a value the format cannot carry is left out and
    listed in `manifest.rejected` by its `key` column."""
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes, got {part_size}")
    store = ManifestFile(folder)
    existing = store.load()
    remote_name = format.file_name(stem)
    if (
        existing is not None
        and existing.complete
        and _same_export(existing, remote_name, format, columns, part_size)
    ):
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    if existing is not None:
        for old_part in existing.parts:
            (folder / old_part.file).unlink(missing_ok=True)
    for stale in folder.glob(f"{remote_name}.part*"):
        stale.unlink()
    manifest = Manifest(
        remote_name=remote_name, format=format, columns=list(columns), part_size=part_size
    )
    separator = format.separator
    header = header_line(manifest.columns, separator)

    def new_part(number: int) -> _PartWriter:
        return _PartWriter(folder / f"{remote_name}.part{number:05d}", number, compress=format.gzip)

    part = new_part(1)
    part.write(header)
    for row in rows:
        cells: list[str] = []
        for column in manifest.columns:
            text = format_value(row.get(column))
            problem = refusal(text, separator)
            if problem:
                reason = f"{problem} ({format.separator_name}-separated file, no string delimiter)"
                manifest.rejected.append(
                    Rejection(key=format_value(row.get(key)), column=column, reason=reason)
                )
                break
            cells.append(text)
        else:
            part.write((separator.join(cells) + "\n").encode())
            part.rows += 1
            manifest.rows += 1
            if part.size >= part_size:
                manifest.parts.append(part.close())
                store.save(manifest)
                part = new_part(part.number + 1)
    if part.rows or not manifest.parts:  # the header alone still makes a (valid, empty) file
        manifest.parts.append(part.close())
    else:
        part.close()
        part.path.unlink()
    manifest.complete = True
    store.save(manifest)
    return manifest


def _same_export(
    manifest: Manifest, remote_name: str, format: ImportFormat, columns: list[str], size: int
) -> bool:
    return (manifest.remote_name, manifest.format, manifest.columns, manifest.part_size) == (
        remote_name,
        format,
        list(columns),
        size,
    )


def read_part(folder: Path, part: Part, chunk_size: int = 1024 * 1024) -> Iterable[bytes]:
    """A part's bytes in chunks, checked against the manifest as they are read: the last chunk
    is only handed out once the whole part matched, so a changed part is never completed."""
    from shared.clients.filedrop.errors import DropRefused

    digest = hashlib.sha256()
    size = 0
    pending: bytes | None = None
    try:
        file = (folder / part.file).open("rb")
    except FileNotFoundError:
        raise DropRefused(
            f"part {part.number} ({part.file}) is missing from {folder}: export again"
        ) from None
    with file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
            if pending is not None:
                yield pending
            pending = chunk
    if size != part.size or digest.hexdigest() != part.sha256:
        raise DropRefused(
            f"part {part.number} ({part.file}) no longer matches its manifest: export again"
        )
    if pending is not None:
        yield pending
