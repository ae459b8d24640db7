"""Helpers of the file drop tests: a kill between parts, and the staged export as it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shared.clients.filedrop import Manifest, ManifestFile, Part, UploadProgress


class Killed(BaseException):
    """The process dying: nothing in the product catches it."""


def kill_after(number: int = 1) -> Callable[[Part], None]:
    """An `on_part` that dies once part `number` is recorded as uploaded."""

    def die(part: Part) -> None:
        if part.number >= number:
            raise Killed

    return die


def manifest_of(folder: Path) -> Manifest:
    manifest = ManifestFile(folder).load()
    assert manifest is not None
    return manifest


def parts_of(folder: Path) -> list[Part]:
    return manifest_of(folder).parts


def local_file(folder: Path) -> bytes:
    """The remote file as it should be: the parts in order."""
    return b"".join((folder / part.file).read_bytes() for part in parts_of(folder))


def edit_progress(folder: Path, change: Callable[[UploadProgress], None]) -> Manifest:
    """Change the (one) upload's recorded progress, as a kill at another moment leaves it."""
    manifest = manifest_of(folder)
    change(next(iter(manifest.uploads.values())))
    ManifestFile(folder).save(manifest)
    return manifest
