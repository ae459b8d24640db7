"""The part manifest: which parts an export made (size, row count, checksums) and, per upload
target, which parts are known to be there, persisted after every part so a killed transfer
resumes with the first missing part.

Kept as a JSON file beside the parts (replaced atomically): the parts are local files, so their
record lives and dies with them; a manifest without its parts is useless anyway.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from shared.clients.filedrop.errors import DropRefused
from shared.clients.filedrop.text_format import ImportFormat

MANIFEST_NAME = "manifest.json"


class Part(BaseModel):
    """One part: a byte range of the remote file, a file of its own locally. With gzip each
    part is a complete gzip member, and members concatenated are one valid gzip file."""

    number: int = Field(ge=1)  # 1-based, as S3 numbers parts
    file: str
    size: int = Field(ge=0)
    rows: int = Field(ge=0)
    sha256: str
    md5: str  # S3's ETag of an uploaded part (no KMS encryption)


class Rejection(BaseModel):
    """A row left out of the file: its key, the column and why (the format cannot carry it)."""

    key: str
    column: str
    reason: str


class UploadProgress(BaseModel):
    """One target's progress: the parts known to be there, and the target's own handle."""

    done: list[int] = Field(default_factory=list)
    upload_id: str | None = None  # S3's multipart upload id
    etags: dict[int, str] = Field(default_factory=dict)
    finished: bool = False


@dataclass
class UploadReport:
    """What one upload call did: the parts it sent and those already there."""

    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    remote_path: str = ""


class Manifest(BaseModel):
    version: Literal[1] = 1
    remote_name: str
    format: ImportFormat
    columns: list[str]
    part_size: int
    parts: list[Part] = Field(default_factory=list)
    rows: int = 0
    rejected: list[Rejection] = Field(default_factory=list)
    complete: bool = False  # the export wrote every row
    uploads: dict[str, UploadProgress] = Field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)

    def offset(self, part: Part) -> int:
        """Where the part starts in the remote file."""
        return sum(p.size for p in self.parts if p.number < part.number)

    def progress(self, target: str) -> UploadProgress:
        return self.uploads.setdefault(target, UploadProgress())

    def require_complete(self) -> None:
        if not self.complete:
            raise DropRefused(
                f"the export of {self.remote_name} did not finish, so there is nothing to upload "
                "yet; exporting again starts it over"
            )


class ManifestFile:
    """The manifest of one export folder, read and written whole."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / MANIFEST_NAME

    def load(self) -> Manifest | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return Manifest.model_validate_json(text)

    def save(self, manifest: Manifest) -> None:
        # Write, flush to disk, then rename over the old one: a kill leaves the old manifest or
        # the new, never half of one.
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as file:
            file.write(json.dumps(manifest.model_dump(mode="json"), indent=1))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
