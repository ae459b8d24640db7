"""The file drop of an Adobe Campaign account (where initial transfer files go, the import
workflow and its signal, the threshold) and the progress of its transfers. Settings are
replaced whole and hold only the names of the settings that hold credentials."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.runtime import Runtime
from shared.service.adobe_config import Changed, require_adobe_account
from shared.storage.adobe_file_drop import FileDropRepository, FileDropSettings, SftpDestination
from shared.sync.adobe.file_load_progress import HEAD, FileLoadProgress, LoadStatus


class LoadView(BaseModel):
    """One table's transfer as an operator sees it."""

    table: str
    status: LoadStatus
    file: str
    target: str
    parts: int
    rows: int
    rejected: int
    started: datetime
    signalled_at: datetime | None = None


class FileDropView(BaseModel):
    account_id: str
    settings: FileDropSettings | None
    loads: list[LoadView]


def show(rt: Runtime, account_id: str) -> FileDropView:
    require_adobe_account(rt, account_id)
    progress = rt.repository(FileLoadProgress)
    tables = [
        str(row["RowKey"]).removeprefix(HEAD)
        for row in rt.tables.client(FileLoadProgress.TABLE).query_entities(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
            parameters={"pk": account_id, "low": HEAD, "high": HEAD[:-1] + "."},
            select=["RowKey"],
        )
    ]
    loads = []
    for table in tables:
        state = progress.load(account_id, table)
        if state is not None:
            loads.append(
                LoadView(
                    table=table,
                    status=state.status,
                    file=state.remote_name,
                    target=state.target,
                    parts=state.parts,
                    rows=state.rows,
                    rejected=state.rejected,
                    started=state.started,
                    signalled_at=state.signalled_at,
                )
            )
    settings = rt.repository(FileDropRepository).load(account_id)
    return FileDropView(account_id=account_id, settings=settings, loads=loads)


def set_file_drop(rt: Runtime, account_id: str, settings: FileDropSettings) -> Changed:
    require_adobe_account(rt, account_id)
    rt.repository(FileDropRepository).save(account_id, settings)
    destination = settings.destination
    if isinstance(destination, SftpDestination):
        names = [destination.private_key_setting or destination.password_setting]
    else:
        names = [destination.access_key_id_setting, destination.secret_access_key_setting]
    held = [name for name in names if name]
    return Changed(
        message=(
            f"Tables of '{account_id}' with at least {settings.threshold:,} records start with a "
            f"file transfer to {destination.where}, then signal '{settings.signal_activity}' of "
            f"workflow {settings.workflow_id}."
            + (f" The app settings {', '.join(held)} must hold the credentials." if held else "")
        )
    )


def clear(rt: Runtime, account_id: str) -> Changed:
    require_adobe_account(rt, account_id)
    existed = rt.repository(FileDropRepository).clear(account_id)
    return Changed(
        message=f"'{account_id}' has no file drop: every table's initial sync goes over the API."
        if existed
        else f"'{account_id}' had no file drop."
    )


def restart_load(rt: Runtime, account_id: str, table: str) -> Changed:
    """Forget a table's transfer, so that its next initial sync writes a new file."""
    require_adobe_account(rt, account_id)
    gone = rt.repository(FileLoadProgress).reset(account_id, table)
    if not gone:
        return Changed(message=f"'{account_id}' has no file transfer of {table}.")
    return Changed(
        message=f"The file transfer of {table} for '{account_id}' was forgotten; the next "
        "initial sync of the table starts a new file."
    )
