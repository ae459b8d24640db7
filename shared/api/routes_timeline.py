"""Engagement timelines of contacts and leads (seed 002): the same view as `timeline show
--output json`, for the admin API and any front end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import timeline
from shared.service.timeline import DEFAULT_LIMIT, MAX_LIMIT, KindFilter, Timeline

router = APIRouter(prefix="/accounts/{accountId}", tags=["engagement timeline"])

GUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
Kinds = Annotated[
    list[KindFilter] | None,
    Query(description="What to show (repeatable): `emails` is sends and opens; default all"),
]
From = Annotated[
    datetime | None,
    Query(alias="from", description="Only interactions at or after this time (UTC if no zone)"),
]
To = Annotated[
    datetime | None,
    Query(alias="to", description="Only interactions before this time (UTC if no zone)"),
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="At most this many interactions (the newest)")
]


@router.get("/contacts/{contactId}/timeline", responses=documented(404))
def contact_timeline(
    rt: Rt,
    account_id: AccountId,
    contact_id: Annotated[str, Path(alias="contactId", pattern=GUID, description="Contact id")],
    kinds: Kinds = None,
    since: From = None,
    until: To = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Timeline:
    """The contact's interactions in the account, oldest first (the newest `limit`), with
    totals and the first and last interaction; `earlier` counts those not shown."""
    return timeline.engagement_timeline(
        rt, account_id, contact_id=contact_id, kinds=kinds or (), since=since, until=until,
        limit=limit,
    )  # fmt: skip


@router.get("/leads/{leadId}/timeline", responses=documented(404))
def lead_timeline(
    rt: Rt,
    account_id: AccountId,
    lead_id: Annotated[str, Path(alias="leadId", pattern=GUID, description="Lead id")],
    kinds: Kinds = None,
    since: From = None,
    until: To = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Timeline:
    """The lead's interactions in the account, as for a contact."""
    return timeline.engagement_timeline(
        rt, account_id, lead_id=lead_id, kinds=kinds or (), since=since, until=until,
        limit=limit,
    )  # fmt: skip
