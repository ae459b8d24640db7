"""What an import workflow does when its External signal fires: Load file (a flat file from
the drop, tab- or `;`-separated with a header, optionally gzip) then Update data (insert or
update the resource's rows, reconciled on one key column).

The test harness tells the workflow how to read the drop (`read_file`: the SFTP server's folder
or the S3 bucket), as Campaign's own workflow reads its SFTP storage or an external account.
The file's name comes from a signal parameter, as a workflow's Load file activity reads
`$(vars/@fileName)`. Real Campaign runs the workflow after the trigger has answered; the sandbox
runs it before answering, so a test sees the records as soon as the signal succeeded. A file
that is missing or unreadable fails the import (recorded in `results`), not the signal.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FILE_PARAMETER = "fileName"


@dataclass
class ImportResult:
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    error: str | None = None


@dataclass
class FileImport:
    resource: str  # `profile` or a `cus` resource
    key: str  # the reconciliation column (`externalId` for profiles)
    read_file: Callable[[str], bytes | None]  # the file by name, None when it is not there
    separator: str = "\t"
    results: list[ImportResult] = field(default_factory=list)


def parse(data: bytes, name: str, separator: str) -> list[dict[str, str]]:
    if name.endswith(".gz"):
        data = gzip.decompress(data)  # concatenated members read as one stream
    lines = data.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError("the file has no header row")
    header = lines[0].split(separator)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(separator)
        if len(cells) != len(header):
            raise ValueError(f"line {number} has {len(cells)} columns, the header {len(header)}")
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def typed(defaults: dict[str, Any], column: str, text: str) -> Any:
    """A cell as the column's type: booleans from 1/0, numbers, else the text."""
    default = defaults.get(column)
    if isinstance(default, bool):
        return text == "1"
    if isinstance(default, int) and text:
        return int(text)
    return text
