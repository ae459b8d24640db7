"""The account's users (people who log in to the platform), for user mapping.

    GET /v2/account-users     select/skip -> [{id, email, firstName, lastName, role}]

INFERRED: Dotdigital's public API documents no read of an account's users (only
`POST /v2/accounts/{accountId}/managed-users`, which creates one); the path and shape are the
sandbox's choice, in the v2 style (select/skip paging, camelCase), and the README lists it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital.programs import AccountUserRecord
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response, select_skip

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

ACCOUNT_USERS = "/v2/account-users"  # INFERRED: see the module docstring


def _user(record: AccountUserRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "email": record.email,
        "firstName": record.first_name,
        "lastName": record.last_name,
        "role": record.role,
    }


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    async def list_users(request: Request) -> Response:
        select, skip = select_skip(request)
        with state.lock:
            rows = sorted(state.account_users.values(), key=lambda u: u.id)
            return json_response([_user(u) for u in rows[skip : skip + select]])

    return [Route(ACCOUNT_USERS, endpoint(list_users), methods=["GET"])]
