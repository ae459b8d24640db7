"""Email suppressions (read from the Dynamics table the SuppressionLists sync keeps) and Request
Resubscribe; a record's marketing preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import preferences, suppressions
from shared.service.preferences import PreferenceFilter, PreferenceLine
from shared.service.suppressions import ResubscribeRequested, SuppressionPage

router = APIRouter(prefix="/accounts/{accountId}", tags=["suppressions and preferences"])

GUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
# Printable text only: the value goes into a Dataverse query (quoted by the service).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


@router.get("/suppressions", responses=documented(404))
def list_suppressions(
    rt: Rt,
    account_id: AccountId,
    email: Annotated[
        str | None, Query(max_length=254, pattern=PRINTABLE, description="Only this address")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Rows per page")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=4000, pattern=r"^[A-Za-z0-9_=-]*$", description="`next_cursor`"),
    ] = None,
) -> SuppressionPage:
    """One page of the account's suppressions; pass `next_cursor` back as `cursor`."""
    return suppressions.list_suppressions(rt, account_id, email=email, limit=limit, cursor=cursor)


@router.post("/suppressions/{suppressionId}/resubscribe", responses=documented(404))
def request_resubscribe(
    rt: Rt,
    account_id: AccountId,
    suppression_id: Annotated[str, Path(alias="suppressionId", pattern=GUID)],
) -> ResubscribeRequested:
    """Tick Request Resubscribe and queue a SuppressionLists run (or leave it to the run
    already queued), which asks the platform and records the outcome on the row."""
    return suppressions.request_resubscribe(rt, account_id, suppression_id)


@router.get("/preferences/{record}", responses=documented(404))
def record_preferences(
    rt: Rt,
    account_id: AccountId,
    record: Annotated[
        str,
        Path(
            max_length=254,
            pattern=PRINTABLE,
            description="contact:<id>, lead:<id>, account:<id> or an email address",
        ),
    ],
    show: Annotated[PreferenceFilter, Query(description="Which preferences")] = (
        PreferenceFilter.ALL
    ),
) -> list[PreferenceLine]:
    """The record's marketing preferences in the account, as its form's tab shows them."""
    return preferences.record_preferences_of(rt, account_id, record, show)
