"""Email suppressions of an account, as the Email Suppressions screen lists them (read from the
Dynamics table the SuppressionLists sync keeps), and Request Resubscribe: the flag a CRM user
ticks, then a SuppressionLists run, which asks the platform and records the outcome."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from pydantic import BaseModel, Field

from shared.clients.dataverse.odata import literal
from shared.clients.dataverse.paging import LinkPosition
from shared.dynamics_schema.connector import (
    EMAIL_SUPPRESSION,
    RESUBSCRIPTION_STATUSES,
    SUPPRESSION_SOURCES,
)
from shared.errors import BadInputError, NotFoundError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync_types import SyncType

ROWS = EMAIL_SUPPRESSION.entity_set
ROW_ID = f"{EMAIL_SUPPRESSION.logical_name}id"
COLUMNS = (
    ROW_ID, "dms_email", "dms_reason", "dms_suppressedon", "_dms_contactid_value",
    "_dms_leadid_value", "dms_source", "dms_requestresubscribe", "dms_resubscriptionstatus",
    "dms_resubscriptiondetail", "dms_emailaccountid",
)  # fmt: skip
_STATUS = {option.value: option.label for option in RESUBSCRIPTION_STATUSES}
_SOURCE = {option.value: option.label for option in SUPPRESSION_SOURCES}


class SuppressionNotFound(NotFoundError):
    pass


class SuppressionView(BaseModel):
    id: str
    email: str
    reason: str
    suppressed_on: datetime | None
    regarding: str = Field(description='"contact:<id>", "lead:<id>" or "" (email only)')
    source: str
    resubscribe_requested: bool
    resubscription_status: str
    resubscription_detail: str


class SuppressionPage(BaseModel):
    suppressions: list[SuppressionView]
    next_cursor: str | None = None


class ResubscribeRequested(BaseModel):
    suppression: SuppressionView
    sync_queued: bool
    message: str


def _filter(account_id: str, email: str | None) -> str:
    # Rows that name no account are the default account's (and every account's) as well.
    clause = f"(dms_emailaccountid eq {literal(account_id)} or dms_emailaccountid eq null)"
    if email:
        clause += f" and dms_email eq {literal(email.strip().lower())}"
    return clause


def _view(row: dict[str, object]) -> SuppressionView:
    regarding = ""
    for entity in ("contact", "lead"):
        if row.get(f"_dms_{entity}id_value"):
            regarding = f"{entity}:{row[f'_dms_{entity}id_value']}"
    status = row.get("dms_resubscriptionstatus")
    source = row.get("dms_source")
    return SuppressionView(
        id=str(row[ROW_ID]),
        email=str(row.get("dms_email") or ""),
        reason=str(row.get("dms_reason") or ""),
        suppressed_on=row.get("dms_suppressedon") or None,
        regarding=regarding,
        source=_SOURCE.get(source, "Dynamics") if isinstance(source, int) else "Dynamics",
        resubscribe_requested=bool(row.get("dms_requestresubscribe")),
        resubscription_status=_STATUS.get(status, "") if isinstance(status, int) else "",
        resubscription_detail=str(row.get("dms_resubscriptiondetail") or ""),
    )


def _cursor(next_link: str | None) -> str | None:
    return base64.urlsafe_b64encode(next_link.encode()).decode() if next_link else None


def _resume(rt: Runtime, cursor: str | None) -> LinkPosition | None:
    """The next page's link from a cursor; only a link into this org's Web API is followed
    (a cursor is caller input: the client would send its token wherever it points)."""
    if not cursor:
        return None
    try:
        link = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        link = ""
    org = (rt.settings.dataverse_url or "").rstrip("/")
    if not org or not link.startswith(f"{org}/api/data/"):
        raise BadInputError("The cursor is not one this API returned: start again without it.")
    return LinkPosition(next_link=link)


def list_suppressions(
    rt: Runtime,
    account_id: str,
    *,
    email: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> SuppressionPage:
    """One page of the account's suppressions (Dataverse's own paging; `next_cursor` continues)."""
    admin.require_account(rt, account_id)
    if not 1 <= limit <= 500:
        raise BadInputError(f"limit must be between 1 and 500, got {limit}.")
    pages = rt.dataverse().iter_pages(
        ROWS,
        COLUMNS,
        filter=_filter(account_id, email),
        page_size=limit,
        resume=_resume(rt, cursor),
    )
    page = next(iter(pages), None)
    if page is None:
        return SuppressionPage(suppressions=[])
    rows = [_view(dict(record)) for record in page.records]
    return SuppressionPage(suppressions=rows, next_cursor=_cursor(page.next_link))


def request_resubscribe(rt: Runtime, account_id: str, suppression_id: str) -> ResubscribeRequested:
    """Tick Request Resubscribe on the row and queue a SuppressionLists run to act on it (if
    one is already queued or running, the next run takes the request)."""
    admin.require_account(rt, account_id)
    key = suppression_id.strip().lower()
    row = rt.dataverse().retrieve(ROWS, key, COLUMNS)
    owner = str((row or {}).get("dms_emailaccountid") or account_id)
    if row is None or owner != account_id:
        raise SuppressionNotFound(
            f"No email suppression '{suppression_id}' in account '{account_id}' "
            f"(see `suppressions list {account_id}`)."
        )
    rt.dataverse().update(ROWS, key, {"dms_requestresubscribe": True})
    row = {**row, "dms_requestresubscribe": True}
    queued = admin.sync_now(rt, account_id, SyncType.SUPPRESSION_LISTS)
    when = (
        "the SuppressionLists run just queued"
        if queued.accepted
        else "the next SuppressionLists run"
    )
    return ResubscribeRequested(
        suppression=_view(row),
        sync_queued=queued.accepted,
        message=f"Resubscribe requested for {row.get('dms_email')}: {when} asks the platform.",
    )
