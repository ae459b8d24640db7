"""The Dotdigital sandbox: the v2 and v3 calls the product uses, with HTTP Basic API-user auth.

    GET  /v2/account-info   answered by every region (region discovery)
    everything else         only on the account's own region (elsewhere: 403)

v2 (address books, suppressions, data fields, campaigns, programs, preferences) answers errors
as `{"message":"... ERROR_X"}`; v3 (`/contacts/v3...`: contacts and imports) as
`{errorCode, description, details}`. Rate limiting answers 429 with x-ratelimit-* headers
(tiered scheme) or, when switched to the legacy flat scheme, 400 `ERROR_APIUSAGE_EXCEEDED`.
Every route is counted and subject to the fault switches. Routes by area:
`api_address_books`, `api_suppressions`, `api_contacts` (v3), `api_campaigns`,
`api_campaign_sends` (the books a campaign was sent to), `api_campaign_behaviour`,
`api_programs`, `api_preferences`, `api_scoring`, `api_web_insight` (INFERRED),
`api_surveys`; account-info and data fields are here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.counters import CountingMiddleware
from sandbox.dotdigital import (
    api_account_users,
    api_address_books,
    api_campaign_behaviour,
    api_campaign_sends,
    api_campaigns,
    api_contacts,
    api_preferences,
    api_programs,
    api_resubscribe,
    api_scoring,
    api_suppressions,
    api_surveys,
    api_web_insight,
)
from sandbox.dotdigital.state import (
    DATA_FIELD_TYPES,
    VISIBILITIES,
    DataFieldRecord,
    DotdigitalState,
)
from sandbox.dotdigital.wire import (
    BadParameter,
    is_v3,
    json_response,
    parameter_error,
    read_json,
    server_error,
    v2_error,
    v3_error,
)
from sandbox.faults import FaultMiddleware

ACCOUNT_INFO = "/v2/account-info"
DATA_FIELDS = "/v2/data-fields"
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,20}$")

Handler = Callable[[Request], Awaitable[Response]]
Endpoint = Callable[..., Handler]
"""endpoint(handler, any_region=False): the handler behind auth, region and rate limits."""


def _invalid(reason: str) -> Response:
    return v2_error(400, f"{reason} ERROR_DATAFIELD_INVALID")


def _default_value_ok(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind == "String":
        return isinstance(value, str) and len(value) <= 255
    if kind == "Numeric":
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        try:
            float(str(value))
        except ValueError:
            return False
        return True
    if kind == "Boolean":
        return isinstance(value, bool) or str(value).lower() in {"true", "false"}
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def create_dotdigital_app(state: DotdigitalState, *, region: str | None = None) -> Starlette:
    """`region`: which region this server is (default: the account's own region)."""
    server_region = region or state.region

    def guard(request: Request, *, any_region: bool = False) -> Response | None:
        v3 = is_v3(request.url.path)
        header = request.headers.get("authorization", "")
        user = password = ""
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
        if not user or not state.authenticate(user, password):
            if v3:
                return v3_error(
                    401, "unauthorized", "Authorization has been denied for this request."
                )
            return v2_error(401, "Authorization has been denied for this request.")
        failure = state.failure_for(user)
        if failure is not None:
            return server_error(request.url.path, failure)
        if not any_region and server_region != state.region:
            if v3:
                return v3_error(403, "forbidden", "Forbidden: Access is denied")
            return v2_error(403, "Forbidden: Access is denied")
        limited = state.rate_limited()
        if limited is not None:
            legacy, headers = limited
            if legacy:
                text = (
                    f"Your API user has exceeded the cut-off of {state.hourly_call_limit} API "
                    "calls in a one hour period."
                )
                if v3:
                    return v3_error(400, "ERROR_APIUSAGE_EXCEEDED", text)
                return v2_error(400, f"{text} ERROR_APIUSAGE_EXCEEDED")
            text = "Too many requests: the API rate limit is exceeded."
            if v3:
                return v3_error(429, "tooManyRequests", text, headers=headers)
            return v2_error(429, text, headers)
        state.record_call()
        return None

    def endpoint(handler: Handler, *, any_region: bool = False) -> Handler:
        async def guarded(request: Request) -> Response:
            denied = guard(request, any_region=any_region)
            if denied is not None:
                return denied
            try:
                return await handler(request)
            except BadParameter as error:
                if is_v3(request.url.path):
                    return v3_error(400, "contacts:invalidParameter", error.message)
                return parameter_error(error)

        return guarded

    async def account_info(request: Request) -> Response:
        endpoint_url = (state.api_endpoint or str(request.base_url)).rstrip("/") + "/"
        used = state.calls_in_last_hour()
        properties = [
            ("Name", "String", "Sandbox Marketing"),
            ("MainEmail", "String", state.main_email),
            ("APILocale", "String", "en-GB"),
            ("ApiCallsInLastHour", "Int", str(used)),
            ("ApiCallsRemaining", "Int", str(max(state.hourly_call_limit - used, 0))),
            ("ApiEndpoint", "String", endpoint_url),
            ("CurrencyCode", "String", "GBP"),
            ("TimeZoneIana", "String", "Europe/London"),
        ]
        return json_response(
            {
                "id": state.account_id,
                "properties": [{"name": n, "type": t, "value": v} for n, t, v in properties],
            }
        )

    async def list_data_fields(request: Request) -> Response:
        hidden = {name.lower() for name in state.hidden_from_list}
        return json_response(
            [f.to_json() for f in list(state.data_fields) if f.name.lower() not in hidden]
        )

    async def create_data_field(request: Request) -> Response:
        ok, body = await read_json(request)
        if not ok:
            return _invalid("The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _invalid("The data field must be a JSON object.")
        fields = {str(key).lower(): value for key, value in body.items()}  # any key casing
        name = fields.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            return _invalid(
                "The data field name must be 1 to 20 letters, digits, hyphens or underscores."
            )
        kinds = {k.lower(): k for k in DATA_FIELD_TYPES}
        kind = kinds.get(str(fields.get("type", "")).lower())
        if kind is None:
            return _invalid("The data field type must be String, Numeric, Date or Boolean.")
        visibilities = {v.lower(): v for v in VISIBILITIES}
        visibility = visibilities.get(str(fields.get("visibility") or "Private").lower())
        if visibility is None:
            return _invalid("The data field visibility must be Private or Public.")
        default = fields.get("defaultvalue")
        if not _default_value_ok(kind, default):
            return _invalid(f"The default value does not fit the data field type {kind}.")
        if state.field(name) is not None:
            return v2_error(400, "Field already exists. ERROR_NON_UNIQUE_DATAFIELD")
        if state.custom_field_count() >= state.custom_field_limit:
            return v2_error(
                400,
                "The account has reached its limit of contact data fields. "
                "ERROR_DATAFIELD_LIMITEXCEEDED",
            )
        record = DataFieldRecord(name, kind, visibility, default)
        state.data_fields.append(record)
        return json_response(record.to_json(), 201)

    async def not_found(request: Request) -> Response:
        if is_v3(request.url.path):
            return v3_error(404, "notFound", f"No resource matches '{request.url.path}'.")
        return v2_error(
            404, f"No HTTP resource was found that matches the request URI '{request.url}'."
        )

    routes: list[BaseRoute] = [
        Route(ACCOUNT_INFO, endpoint(account_info, any_region=True), methods=["GET"]),
        Route(DATA_FIELDS, endpoint(list_data_fields), methods=["GET"]),
        Route(DATA_FIELDS, endpoint(create_data_field), methods=["POST"]),
        *api_address_books.routes(state, endpoint),
        *api_suppressions.routes(state, endpoint),
        *api_resubscribe.routes(state, endpoint),
        *api_contacts.routes(state, endpoint),
        *api_campaigns.routes(state, endpoint),
        *api_campaign_sends.routes(state, endpoint),
        *api_campaign_behaviour.routes(state, endpoint),
        *api_programs.routes(state, endpoint),
        *api_account_users.routes(state, endpoint),
        *api_preferences.routes(state, endpoint),
        *api_scoring.routes(state, endpoint),
        *api_web_insight.routes(state, endpoint),
        *api_surveys.routes(state, endpoint),
        Route("/{rest:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]

    def throttled(v3: bool) -> Callable[[int], Response]:
        def answer(seconds: int) -> Response:
            headers = state.throttle_headers(seconds)
            text = "Too many requests: the API rate limit is exceeded."
            if v3:
                return v3_error(429, "tooManyRequests", text, headers=headers)
            return v2_error(429, text, headers)

        return answer

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CountingMiddleware,
                counters=state.counters,
                routes=routes,
                server=f"dotdigital-{server_region}",
            ),
            # One fault decision per request; the error body follows the API generation.
            Middleware(
                FaultMiddleware,
                faults=state.faults,
                error_response=lambda status: server_error("/v2", status),
                throttle_response=throttled(False),
                applies=lambda path: not is_v3(path),
            ),
            Middleware(
                FaultMiddleware,
                faults=state.faults,
                error_response=lambda status: server_error("/contacts/v3", status),
                throttle_response=throttled(True),
                applies=is_v3,
            ),
        ],
    )
