"""Schedules: an account's sync types, interval and window, start date and time, Sync Now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from shared.api.params import AccountId, Rt, SyncTypePath
from shared.api.problems import documented, problem_response
from shared.errors import Category
from shared.service import schedules
from shared.service.schedules import (
    ScheduleChange,
    ScheduleSet,
    ScheduleView,
    StartChange,
    SyncNowAnswer,
)

router = APIRouter(prefix="/accounts/{accountId}/schedules", tags=["schedules"])


@router.get("", responses=documented(404))
def list_schedules(rt: Rt, account_id: AccountId) -> list[ScheduleView]:
    return schedules.show(rt, account_id)


@router.put("/{syncType}", responses=documented(404))
def set_schedule(
    rt: Rt, account_id: AccountId, sync_type: SyncTypePath, change: ScheduleChange
) -> ScheduleSet:
    """Set the interval and the sync window; the answer lists the next runs (UTC)."""
    return schedules.set_schedule(rt, account_id, sync_type, change)


@router.put("/{syncType}/start", responses=documented(404))
def set_start(
    rt: Rt, account_id: AccountId, sync_type: SyncTypePath, change: StartChange
) -> ScheduleView:
    """Once a day only: the first run on `date`, then daily at `time`."""
    return schedules.set_start(rt, account_id, sync_type, change)


@router.post(
    "/{syncType}/sync-now",
    status_code=202,
    responses=documented(404, 409),
    response_model=SyncNowAnswer,
)
def sync_now(
    request: Request,
    rt: Rt,
    account_id: AccountId,
    sync_type: SyncTypePath,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Record what the run would write, write nothing")
    ] = False,
) -> SyncNowAnswer | JSONResponse:
    """Queue a run now (202). 409 when one is already queued or running, or the account is
    disabled: `detail` says which."""
    answer = schedules.sync_now(rt, account_id, sync_type, dry_run=dry_run)
    if not answer.accepted:
        return problem_response(request, 409, answer.message, kind=Category.CONFLICT)
    return answer
