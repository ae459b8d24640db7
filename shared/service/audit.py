"""The sync audit: an account's runs, newest first, filtered by start time and sync type and
paged; one run with its detail rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from shared.audit import AuditDetail, AuditRecord
from shared.errors import NotFoundError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync_types import SyncType

DEFAULT_DAYS = 30  # the Sync Audit panel shows the last 30 days
MAX_PAGE = 500


class AuditQuery(BaseModel):
    sync_type: SyncType | None = None
    since: datetime | None = Field(
        default=None,
        description="Only runs started at or after this UTC time, e.g. 2026-11-20T00:00 "
        f"(default: {DEFAULT_DAYS} days ago)",
    )
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="Runs per page")
    cursor: str | None = Field(
        default=None, description="`next_cursor` of the previous page", max_length=100
    )


class AuditPage(BaseModel):
    runs: list[AuditRecord]
    next_cursor: str | None = None  # None: this was the last page


class AuditRun(BaseModel):
    run: AuditRecord
    details: list[AuditDetail]


class RunNotFound(NotFoundError):
    pass


def runs(rt: Runtime, account_id: str, query: AuditQuery) -> AuditPage:
    admin.require_account(rt, account_id)
    since = query.since or rt.clock() - timedelta(days=DEFAULT_DAYS)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # the audit's times are UTC
    found = rt.audit.recent(
        account_id,
        sync_type=query.sync_type,
        since=since,
        limit=query.limit + 1,  # one more tells whether another page exists
        after=query.cursor,
    )
    page = found[: query.limit]
    more = len(found) > query.limit
    return AuditPage(runs=page, next_cursor=page[-1].row_key if more else None)


def run(rt: Runtime, account_id: str, row_key: str) -> AuditRun:
    admin.require_account(rt, account_id)
    record = rt.audit.get(account_id, row_key)
    if record is None:
        raise RunNotFound(
            f"No audit row '{row_key}' in account '{account_id}' (see `audit {account_id}`)."
        )
    return AuditRun(run=record, details=rt.audit.details(account_id, row_key))
