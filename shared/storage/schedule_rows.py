"""A schedule as a record and as a `SyncSchedules` row, read leniently.

Operators read and edit these rows in Storage Explorer. The columns they read come first-class
(Interval, the window, Status, LastSyncUtc, NextSyncUtc, LastStatus, LastMessage); the state of
the current run and of the due index is kept in the same row, under the `Run_` prefix, because
the row's ETag guards the run (one conditional write moves both). Unset values are left out of
the entity: a date column then only ever holds dates. Rows written before (run state without
the prefix, unset dates as "") still read the same, and are rewritten in this shape when saved.

A column that does not parse does not make the row unreadable: the record keeps a default for
it and names the problem in `problems`, so the scheduler can skip and audit that one schedule,
the CLI can show it as invalid, and `schedule set` can overwrite it. A blank value (a cleared
cell) or a removed column is unset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.scheduling import Interval, ScheduleSpec, SyncWindow, Weekday, WindowKind
from shared.scheduling.errors import ScheduleError
from shared.storage.entities import aware
from shared.sync_types import SyncType

_DAY_NAMES = {day: day.name[:3].title() for day in Weekday}
_DAYS_BY_NAME = {v: k for k, v in _DAY_NAMES.items()}
T = TypeVar("T")


class ScheduleStatus(StrEnum):
    NONE = "None"
    QUEUED = "Added to Queue"
    IN_PROGRESS = "Synchronising In Progress"


@dataclass
class ScheduleRecord:
    account_id: str
    sync_type: SyncType
    spec: ScheduleSpec = field(default_factory=ScheduleSpec)
    status: ScheduleStatus = ScheduleStatus.NONE
    last_sync: datetime | None = None
    next_sync: datetime | None = None
    last_status: str = ""
    last_message: str = ""
    run_id: str = ""
    run_trigger: str = ""
    run_sequence: int = 0
    run_started: datetime | None = None
    audit_row_key: str = ""
    queued_at: datetime | None = None
    lease_owner: str = ""
    lease_until: datetime | None = None
    due_at: datetime | None = None
    due_key: str = ""
    etag: str | None = None
    # What a hand edit broke, one phrase per column ("Interval 'x' is not an interval").
    problems: tuple[str, ...] = ()

    @property
    def invalid_reason(self) -> str:
        """The operator's message for a row that does not parse ('' when it does)."""
        if not self.problems:
            return ""
        return (
            f"The schedule of {self.sync_type.value} is invalid: {'; '.join(self.problems)}; "
            f"fix it with `schedule set {self.account_id} {self.sync_type.value} --interval ...`"
        )


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def _window_columns(window: SyncWindow) -> dict[str, Any]:
    return {
        "SyncWindow": window.describe(),
        "WindowKind": window.kind.value,
        "WindowDays": ",".join(_DAY_NAMES[d] for d in sorted(window.days)),
        "WindowStartUtc": _hhmm(window.start),
        "WindowEndUtc": _hhmm(window.end),
        "SpecificTimeUtc": _hhmm(window.at),
    }


# Run-internal columns: (column, legacy column written before the prefix).
RUN_PREFIX = "Run_"
RUN_COLUMNS = {
    "run_id": ("Run_Id", "RunId"),
    "run_trigger": ("Run_Trigger", "RunTrigger"),
    "run_sequence": ("Run_Sequence", "RunSequence"),
    "run_started": ("Run_StartedUtc", "RunStartedUtc"),
    "audit_row_key": ("Run_AuditRowKey", "AuditRowKey"),
    "queued_at": ("Run_QueuedUtc", "QueuedUtc"),
    "lease_owner": ("Run_LeaseOwner", "LeaseOwner"),
    "lease_until": ("Run_LeaseUntilUtc", "LeaseUntilUtc"),
    "due_at": ("Run_DueUtc", "DueUtc"),
    "due_key": ("Run_DueKey", "DueKey"),
}
DUE_COLUMN = RUN_COLUMNS["due_at"][0]


def _set(columns: dict[str, Any]) -> dict[str, Any]:
    """The columns that hold a value: None and "" are left out of the entity."""
    return {name: value for name, value in columns.items() if value is not None and value != ""}


def to_entity(record: ScheduleRecord) -> dict[str, Any]:
    run: dict[str, Any] = {
        column: getattr(record, attribute) for attribute, (column, _) in RUN_COLUMNS.items()
    }
    if not record.run_id:
        del run["Run_Sequence"]  # 0 when there is no run, as a missing column reads
    return {
        "PartitionKey": record.account_id,
        "RowKey": record.sync_type.value,
        "Interval": record.spec.interval.value,
        **_window_columns(record.spec.window),
        "Status": record.status.value,
        # Text columns an operator reads stay even when blank; dates only when set.
        "LastStatus": record.last_status,
        "LastMessage": record.last_message,
        **_set({"LastSyncUtc": record.last_sync, "NextSyncUtc": record.next_sync}),
        **_set(run),
    }


class _Reader:
    """Reads one entity's columns, collecting a phrase per column that does not parse."""

    def __init__(self, entity: dict[str, Any]) -> None:
        self.entity = entity
        self.problems: list[str] = []

    def column(self, name: str, parse: Callable[[Any], T], default: T, what: str) -> T:
        value = self.entity.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default  # a removed column or a cleared cell: unset
        try:
            return parse(value)
        except (ValueError, TypeError, KeyError):
            self.problems.append(f"{name} {value!r} is not {what}")
            return default

    def text(self, name: str) -> str:
        return self.column(name, _text, "", "text")

    def run(self, attribute: str, parse: Callable[[Any], T], default: T, what: str) -> T:
        """A run column, from its `Run_` column or, in a row written before, its old name."""
        column, legacy = RUN_COLUMNS[attribute]
        name = column if column in self.entity or legacy not in self.entity else legacy
        return self.column(name, parse, default, what)

    def run_text(self, attribute: str) -> str:
        return self.run(attribute, _text, "", "text")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _time(value: Any) -> time | None:
    return time.fromisoformat(_text(value)) if value else None


def _days(value: Any) -> frozenset[Weekday]:
    return frozenset(_DAYS_BY_NAME[d.strip()] for d in _text(value).split(",") if d.strip())


def _spec(read: _Reader) -> ScheduleSpec:
    interval = read.column("Interval", Interval, Interval.MANUAL, "an interval")
    kind = read.column("WindowKind", WindowKind, WindowKind.ANY_TIME, "a window kind")
    no_days: frozenset[Weekday] = frozenset()
    days = read.column("WindowDays", _days, no_days, "a list of days such as Mon,Tue")
    start = read.column("WindowStartUtc", _time, None, "a time (HH:MM)")
    end = read.column("WindowEndUtc", _time, None, "a time (HH:MM)")
    at = read.column("SpecificTimeUtc", _time, None, "a time (HH:MM)")
    if read.problems:
        return ScheduleSpec()
    try:
        window = SyncWindow(kind=kind, days=days, start=start, end=end, at=at)
        return ScheduleSpec(interval=interval, window=window)
    except (ScheduleError, ValidationError, ValueError) as error:
        read.problems.append(f"the interval and window do not go together ({error})")
        return ScheduleSpec()


def from_entity(entity: dict[str, Any]) -> ScheduleRecord:
    read = _Reader(entity)
    spec = _spec(read)
    return ScheduleRecord(
        account_id=entity["PartitionKey"],
        sync_type=SyncType(entity["RowKey"]),
        spec=spec,
        status=read.column("Status", ScheduleStatus, ScheduleStatus.NONE, "a status"),
        last_sync=read.column("LastSyncUtc", aware, None, "a date and time"),
        next_sync=read.column("NextSyncUtc", aware, None, "a date and time"),
        last_status=read.text("LastStatus"),
        last_message=read.text("LastMessage"),
        run_id=read.run_text("run_id"),
        run_trigger=read.run_text("run_trigger"),
        run_sequence=read.run("run_sequence", _number, 0, "a number"),
        run_started=read.run("run_started", aware, None, "a date and time"),
        audit_row_key=read.run_text("audit_row_key"),
        queued_at=read.run("queued_at", aware, None, "a date and time"),
        lease_owner=read.run_text("lease_owner"),
        lease_until=read.run("lease_until", aware, None, "a date and time"),
        due_at=read.run("due_at", aware, None, "a date and time"),
        due_key=read.run_text("due_key"),
        etag=str(entity.metadata["etag"]) if hasattr(entity, "metadata") else None,
        problems=tuple(read.problems),
    )
