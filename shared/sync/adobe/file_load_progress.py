"""The progress of an initial transfer by file, in Table Storage so that a worker on another
instance resumes it: AdobeFileDrop, PartitionKey = account id, a `load-<table>` row (the
remote file, the Dataverse position after the last recorded part, the S3 upload id or the
SFTP bytes written, the signal) and a `part-<table>-<n>` row per uploaded part (rows, size,
checksums, the values left out). A part row and the head move together in one transaction,
conditioned on the head's ETag: a part is recorded with the position after it, or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity
from pydantic import BaseModel, Field, TypeAdapter

from shared.clients.dataverse.changes import ChangePosition
from shared.clients.filedrop.manifest import Rejection
from shared.clients.filedrop.text_format import ImportFormat
from shared.storage.entities import aware, etag_of
from shared.storage.transactions import Operation, submit

HEAD = "load-"
PART = "part-"
_REJECTIONS = TypeAdapter(list[Rejection])


class LoadStatus(StrEnum):
    UPLOADING = "Uploading"  # parts are being read, written and uploaded
    UPLOADED = "Uploaded"  # the file is complete under its name; the signal is next
    SIGNALLED = "Signalled"  # the import workflow was started: done


class LoadedPart(BaseModel):
    number: int = Field(ge=1)
    rows: int
    size: int
    md5: str
    sha256: str
    rejected: list[Rejection] = Field(default_factory=list)


class LoadState(BaseModel):
    table: str
    remote_name: str
    target: str  # the destination's address: another one means another transfer
    format: ImportFormat
    columns: list[str]
    part_size: int
    started: datetime
    status: LoadStatus = LoadStatus.UPLOADING
    parts: int = 0
    size: int = 0  # bytes recorded: where the next SFTP part starts
    rows: int = 0
    rejected: int = 0
    upload_id: str | None = None  # S3's multipart upload
    position: ChangePosition | None = None  # None: read from the start
    read_done: bool = False
    delta_link: str | None = None  # for the incremental phase, once every page was read
    signalled_at: datetime | None = None
    etag: str | None = Field(default=None, exclude=True)


def _part_key(table: str, number: int) -> str:
    return f"{PART}{table}-{number:05d}"


class FileLoadProgress:
    TABLE: ClassVar[str] = "AdobeFileDrop"
    WRITES: ClassVar[tuple[str, ...]] = ("begin", "record_part", "save", "reset")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def load(self, account_id: str, table: str) -> LoadState | None:
        try:
            row = self._table.get_entity(account_id, HEAD + table)
        except ResourceNotFoundError:
            return None
        return _state(row)

    def parts(self, account_id: str, table: str) -> list[LoadedPart]:
        low, high = f"{PART}{table}-", f"{PART}{table}."  # '.' sorts right after '-'
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
            parameters={"pk": account_id, "low": low, "high": high},
        )
        parts = [
            LoadedPart(
                number=int(r["Number"]),
                rows=int(r["Rows"]),
                size=_int(r["Size"]),
                md5=str(r["Md5"]),
                sha256=str(r["Sha256"]),
                rejected=_REJECTIONS.validate_json(r.get("Rejected") or "[]"),
            )
            for r in rows
        ]
        return sorted(parts, key=lambda p: p.number)

    def begin(self, account_id: str, state: LoadState) -> None:
        """Write the head of a new transfer (over any earlier one: `reset` that first)."""
        [state.etag] = submit(self._table, [Operation("upsert", _head(account_id, state))])

    def record_part(self, account_id: str, state: LoadState, part: LoadedPart) -> None:
        """The part and the head as it stands after it (position, counts), in one transaction
        conditioned on the head's ETag (TransactionRefused if another worker moved it)."""
        entity = {
            "PartitionKey": account_id,
            "RowKey": _part_key(state.table, part.number),
            "Number": part.number,
            "Rows": part.rows,
            "Size": part.size,
            "Md5": part.md5,
            "Sha256": part.sha256,
            "Rejected": _REJECTIONS.dump_json(part.rejected).decode(),
        }
        etags = submit(
            self._table,
            [
                Operation("upsert", entity),
                Operation("update", _head(account_id, state), etag=state.etag),
            ],
        )
        state.etag = etags[1]

    def save(self, account_id: str, state: LoadState) -> None:
        [state.etag] = submit(
            self._table, [Operation("update", _head(account_id, state), etag=state.etag)]
        )

    def reset(self, account_id: str, table: str) -> int:
        """Forget the transfer of `table` (head and parts); how many rows went."""
        keys = [HEAD + table, *(_part_key(table, p.number) for p in self.parts(account_id, table))]
        gone = 0
        for key in keys:
            try:
                self._table.delete_entity(account_id, key)
                gone += 1
            except ResourceNotFoundError:
                pass
        return gone


def _head(account_id: str, state: LoadState) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": account_id,
        "RowKey": HEAD + state.table,
        "DynamicsTable": state.table,
        "RemoteName": state.remote_name,
        "Target": state.target,
        "Format": state.format.model_dump_json(),
        "Columns": json.dumps(state.columns),
        "PartSize": state.part_size,
        "StartedUtc": state.started,
        "Status": state.status.value,
        "Parts": state.parts,
        "Size": state.size,
        "Rows": state.rows,
        "Rejected": state.rejected,
        "ReadDone": state.read_done,
    }
    # Unset values are left out, so a column holds only values of its type.
    optional = {
        "UploadId": state.upload_id,
        "Position": state.position.model_dump_json() if state.position else None,
        "DeltaLink": state.delta_link,
        "SignalledUtc": state.signalled_at,
    }
    entity.update({name: value for name, value in optional.items() if value is not None})
    return entity


def _int(value: Any) -> int:
    """An Int32 reads as int, an Int64 as EntityProperty(value, type)."""
    return int(value[0] if isinstance(value, tuple) else value)


def _state(row: TableEntity) -> LoadState:
    position = row.get("Position")
    return LoadState(
        table=str(row["DynamicsTable"]),
        remote_name=str(row["RemoteName"]),
        target=str(row["Target"]),
        format=ImportFormat.model_validate_json(str(row["Format"])),
        columns=json.loads(str(row["Columns"])),
        part_size=_int(row["PartSize"]),
        started=aware(row["StartedUtc"]),
        status=LoadStatus(str(row["Status"])),
        parts=_int(row["Parts"]),
        size=_int(row["Size"]),
        rows=_int(row["Rows"]),
        rejected=_int(row["Rejected"]),
        upload_id=row.get("UploadId"),
        position=ChangePosition.model_validate_json(str(position)) if position else None,
        read_done=bool(row["ReadDone"]),
        delta_link=row.get("DeltaLink"),
        signalled_at=aware(row.get("SignalledUtc")),
        etag=etag_of(row),
    )
