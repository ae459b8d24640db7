"""Engagement timelines of contacts and leads (seed 002): the same view as `timeline show
--output json`, for the admin API and any front end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.runtime import Runtime
from shared.service.timeline import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    KindFilter,
    Timeline,
    engagement_timeline,
)

router = APIRouter(prefix="/accounts/{accountId}", tags=["engagement timeline"])

GUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"


@dataclass
class TimelineQuery:
    """The query both routes take (a dependency, so the two routes declare it once)."""

    kinds: Annotated[
        list[KindFilter] | None,
        Query(description="What to show (repeatable): `emails` is sends and opens; default all"),
    ] = None
    since: Annotated[
        datetime | None,
        Query(alias="from", description="Only interactions at or after this time (UTC if no zone)"),
    ] = None
    until: Annotated[
        datetime | None,
        Query(alias="to", description="Only interactions before this time (UTC if no zone)"),
    ] = None
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="At most this many interactions (the newest)")
    ] = DEFAULT_LIMIT

    def timeline(self, rt: Runtime, account_id: str, **person: str) -> Timeline:
        return engagement_timeline(
            rt, account_id, **person, kinds=self.kinds or (), since=self.since,
            until=self.until, limit=self.limit,
        )  # fmt: skip


TimelineParams = Annotated[TimelineQuery, Depends()]


@router.get("/contacts/{contactId}/timeline", responses=documented(404))
def contact_timeline(
    rt: Rt,
    account_id: AccountId,
    contact_id: Annotated[str, Path(alias="contactId", pattern=GUID, description="Contact id")],
    query: TimelineParams,
) -> Timeline:
    """The contact's interactions in the account, oldest first (the newest `limit`), with
    totals and the first and last interaction; `earlier` counts those not shown."""
    return query.timeline(rt, account_id, contact_id=contact_id)


@router.get("/leads/{leadId}/timeline", responses=documented(404))
def lead_timeline(
    rt: Rt,
    account_id: AccountId,
    lead_id: Annotated[str, Path(alias="leadId", pattern=GUID, description="Lead id")],
    query: TimelineParams,
) -> Timeline:
    """The lead's interactions in the account, as for a contact."""
    return query.timeline(rt, account_id, lead_id=lead_id)
