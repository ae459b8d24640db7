"""Schedules: show an account's sync types, set interval and window, set the start date and
time (Once a day), and Sync Now."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.pipeline import admin
from shared.runtime import Runtime
from shared.scheduling import Interval, ScheduleSpec, SyncWindow, upcoming
from shared.scheduling.window_text import parse_clock
from shared.storage.schedules_repo import ScheduleRecord, ScheduleStatus
from shared.sync_types import DISPLAY_NAMES, SyncType

UPCOMING_SHOWN = 6


class ScheduleView(BaseModel):
    """One row of the Synchronisation Settings screen."""

    sync_type: SyncType
    shown_as: str
    interval: Interval | None  # None: the stored row is invalid (see `problems`)
    window: str
    status: ScheduleStatus
    last_sync: datetime | None
    next_sync: datetime | None
    last_result: str
    last_message: str
    problems: list[str] = Field(default_factory=list)  # what a hand edit broke
    fix: str = ""  # how to repair an invalid row


class ScheduleChange(BaseModel):
    interval: Interval
    window: str = Field(
        default="any",
        description='"any", "mon-fri 18:00-08:00", "mon,wed 09:00-17:00" or "specific 07:30" '
        "(UTC; a specific time only with Once a day)",
    )


class ScheduleSet(BaseModel):
    schedule: ScheduleView
    upcoming: list[datetime]  # the next runs (UTC), empty for Manual


class StartChange(BaseModel):
    """The 'Next Synchronisation' field: first run on `date`, then daily at `time`."""

    date: date
    time: str | None = Field(
        default=None, description="HH:MM UTC; left out keeps the time of the current next sync"
    )


class SyncNowAnswer(BaseModel):
    accepted: bool
    message: str


def view(record: ScheduleRecord) -> ScheduleView:
    invalid = bool(record.problems)
    return ScheduleView(
        sync_type=record.sync_type,
        shown_as=DISPLAY_NAMES.get(record.sync_type, ""),
        interval=None if invalid else record.spec.interval,
        window="" if invalid else record.spec.window.describe(),
        status=record.status,
        last_sync=record.last_sync,
        next_sync=None if invalid else record.next_sync,
        last_result=record.last_status,
        last_message=record.last_message,
        problems=list(record.problems),
        fix=record.invalid_reason,
    )


def show(rt: Runtime, account_id: str) -> list[ScheduleView]:
    account = admin.require_account(rt, account_id)
    types = admin.platform_sync_types(rt, account)
    return [view(record) for record in rt.schedules.for_account(account_id, types)]


def set_schedule(
    rt: Runtime, account_id: str, sync_type: SyncType, change: ScheduleChange
) -> ScheduleSet:
    # What an operator types is refused with seconds: the row keeps HH:MM (`parse_clock`).
    window = SyncWindow.parse(change.window, whole_minutes=True)
    spec = ScheduleSpec(interval=change.interval, window=window)
    record = admin.set_schedule(rt, account_id, sync_type, spec)
    runs = upcoming(spec, after=rt.clock(), count=UPCOMING_SHOWN)
    return ScheduleSet(schedule=view(record), upcoming=list(runs))


def set_start(
    rt: Runtime, account_id: str, sync_type: SyncType, change: StartChange
) -> ScheduleView:
    at = parse_clock(change.time, whole_minutes=True) if change.time else None
    return view(admin.set_once_a_day_start(rt, account_id, sync_type, change.date, at))


def sync_now(
    rt: Runtime, account_id: str, sync_type: SyncType, *, dry_run: bool = False
) -> SyncNowAnswer:
    """Queue a run now; not accepted (with the reason) when one is already queued or running,
    or the account is disabled."""
    result = admin.sync_now(rt, account_id, sync_type, dry_run=dry_run)
    return SyncNowAnswer(accepted=result.accepted, message=result.message)
