"""The sync audit: an account's runs (newest first, filtered, paged) and one run's details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import audit
from shared.service.audit import AuditPage, AuditQuery, AuditRun
from shared.sync_types import SyncType

router = APIRouter(prefix="/accounts/{accountId}/audit", tags=["audit"])
_QUERY = AuditQuery.model_fields

# A Table key holds no / \ # ? or control characters: anything else cannot name a row.
ROW_KEY_PATTERN = r"^[^/\\#?\x00-\x1f\x7f-\x9f]{1,200}$"


@router.get("", responses=documented(404))
def list_runs(
    rt: Rt,
    account_id: AccountId,
    sync_type: Annotated[SyncType | None, Query(alias="syncType")] = None,
    since: Annotated[datetime | None, Query(description=_QUERY["since"].description)] = None,
    limit: Annotated[
        int, Query(ge=1, le=audit.MAX_PAGE, description=_QUERY["limit"].description)
    ] = 50,
    cursor: Annotated[
        str | None, Query(max_length=100, description=_QUERY["cursor"].description)
    ] = None,
) -> AuditPage:
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""
    query = AuditQuery(sync_type=sync_type, since=since, limit=limit, cursor=cursor)
    return audit.runs(rt, account_id, query)


@router.get("/{rowKey}", responses=documented(404))
def get_run(
    rt: Rt,
    account_id: AccountId,
    row_key: Annotated[
        str, Path(alias="rowKey", pattern=ROW_KEY_PATTERN, description="An audit row's key")
    ],
) -> AuditRun:
    return audit.run(rt, account_id, row_key)
