"""v2 contact scoring: `GET /v2/contacts/score/modified-since/{date}?select&skip`.

`ApiContactScore` items `{contactId, email, dateModified, scoreLabel, score, engagement,
suitability}` as the v2 spec has them, ordered by modified date ("Gets a list of contact
scoring data ordered by modified date"), the date inclusive, select 1..1000.

INFERRED: an account without contact scoring (`state.scoring.enabled = False`) answers
403 `{"message": "Contact scoring is not enabled for this account. ERROR_FEATURE_NOT_ACTIVATED"}`.
The public API documents no such answer; the product shows "Feature is not activated in
Dotdigital" for it, so the sandbox answers in the v2 envelope with a code to match, and 403
(Forbidden) as the account is not allowed the feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital.api_address_books import page, path_date
from sandbox.dotdigital.behaviour import ScoreRecord
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import iso, json_response, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

SCORES_MODIFIED_SINCE = "/v2/contacts/score/modified-since/{date}"
# INFERRED (see the module's docstring).
NOT_ACTIVATED = "Contact scoring is not enabled for this account. ERROR_FEATURE_NOT_ACTIVATED"


def contact_score(record: ScoreRecord) -> dict[str, object]:
    return {
        "contactId": record.contact_id,
        "email": record.email,
        "dateModified": iso(record.modified),
        "scoreLabel": record.label,
        "score": record.score,
        "engagement": record.engagement,
        "suitability": record.suitability,
    }


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    async def modified_since(request: Request) -> Response:
        when = path_date(request)
        start, stop = page(request, state)
        with state.lock:
            if not state.scoring.enabled:
                return v2_error(403, NOT_ACTIVATED)
            rows = state.scoring.since(when)[start:stop]
            return json_response([contact_score(r) for r in rows])

    return [Route(SCORES_MODIFIED_SINCE, endpoint(modified_since), methods=["GET"])]
