"""The ACS sandbox: IMS OAuth server-to-server tokens and the REST API the connector calls.

    POST /ims/token/v3                                         client credentials -> token
    GET  /{org}/campaign/{root}/{resource}                     collection (paged)
    POST /{org}/campaign/{root}/{resource}                     create -> the object
    GET  /{org}/campaign/{root}/{resource}/_count              {"count": n}
    GET  /{org}/campaign/{root}/{resource}/{key}               @PKey, by<Filter>?f=v, custom key
                                                               (or a custom filter: filters.py)
    PATCH, DELETE the same with an @PKey                       -> {PKey, href} | 200
    GET  /{org}/campaign/{root}/{resource}/{filter}/_count
    GET  /{org}/campaign/profileAndServicesExt/                the published cus resources
    GET  /{org}/campaign/{root}/resourceType/{resource}        a resource's fields (metadata.py;
                                                               also .../{resource}/metadata)
    GET  /{org}/campaign/workflow/execution/{id}               the workflow, its signal activities
    POST /{org}/campaign/workflow/execution/{id}/activities/activity/{name}/trigger
    GET  /events/organizations/{consumer}/integrations/{integration}/{registration}
                                                               the I/O Events journal (journal_api)

Roots: `profileAndServices` (the profile) and `profileAndServicesExt` (the profile and `cus`
custom resources). Paging: `_lineCount` (default 25), `next.href` with an opaque
`_lineStart=@...`, no `next` above `big_table_threshold` rows unless `_forcePagination=true`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.adobe.filters import parse_time
from sandbox.adobe.journal_api import journal_route
from sandbox.adobe.metadata import resource_list, resource_metadata
from sandbox.adobe.state import AdobeState, ResourceTable, SignalTrigger, wire_time
from sandbox.adobe.wire import (
    WriteRefused,
    checked_values,
    duplicate_key,
    engine_error,
    gateway_error,
    json_response,
    not_found,
    proxy_error,
    wrong_organization,
)
from sandbox.counters import CountingMiddleware
from sandbox.faults import FaultMiddleware

TOKEN = "/ims/token/v3"
COLLECTION = "/{org}/campaign/{root}/{resource}"
COUNT = "/{org}/campaign/{root}/{resource}/_count"
ITEM = "/{org}/campaign/{root}/{resource}/{key}"
FILTER_COUNT = "/{org}/campaign/{root}/{resource}/{key}/_count"
RESOURCES = "/{org}/campaign/profileAndServicesExt/"
METADATA = "/{org}/campaign/{root}/resourceType/{resource}"
WORKFLOW = "/{org}/campaign/workflow/execution/{id}"
TRIGGER = "/{org}/campaign/workflow/execution/{id}/activities/activity/{name}/trigger"
ROOTS = ("profileAndServices", "profileAndServicesExt")
DEFAULT_LINE_COUNT = 25


def create_adobe_app(state: AdobeState) -> Starlette:
    def base(request: Request) -> str:
        return (
            state.base_url or str(request.base_url).rstrip("/")
        ) + f"/{state.organization}/campaign"

    def guard(request: Request) -> Response | None:
        """The gateway: token, API key, organization, rate limit."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not token or not state.token_valid(token):
            return gateway_error(401, "401013", "Oauth token is not valid")
        if request.headers.get("x-api-key") != state.client_id:
            return gateway_error(403, "403000", "Api Key is invalid")
        if request.path_params.get("org") != state.organization:
            return wrong_organization()
        wait = state.take_throttle()
        if wait is not None:
            return gateway_error(429, "429050", "Too many requests", {"Retry-After": str(wait)})
        return None

    def table_of(request: Request) -> ResourceTable | Response:
        root, name = request.path_params["root"], request.path_params["resource"]
        table = state.tables.get(name)
        if (
            root not in ROOTS
            or table is None
            or not table.published
            or (root == "profileAndServices" and name != "profile")
        ):
            return not_found(f"{root}/{name}")
        return table

    def shown(
        table: ResourceTable, row_id: int, row: dict[str, Any], request: Request
    ) -> dict[str, Any]:
        pkey = state.pkey(table.name, row_id)
        root = request.path_params.get("root", "profileAndServicesExt")
        href = f"{base(request)}/{root}/{table.name}/{pkey}"
        record = {"PKey": pkey, **row, "href": href}
        if table.name == "profile":
            record["subscriptions"] = {"href": f"{href}/subscriptions/"}
        return record

    def matching(table: ResourceTable, key: str | None, request: Request) -> list[int] | Response:
        """Row ids in order, all of them or those a `by<Filter>` selects."""
        ids = sorted(table.rows)
        if key is None:
            return ids
        custom = state.filters.get((table.name, key))
        if custom is not None:
            value = request.query_params.get(custom.parameter)
            since = parse_time(value or "")
            if since is None:
                return engine_error(
                    f"RST-360011 The parameter '{custom.parameter}' of filter '{key}' is "
                    f"missing or not a date ({value!r})."
                )
            return [i for i in ids if custom.selects(table.rows[i], since)]
        field = key[2:3].lower() + key[3:]
        if not key.startswith("by") or field not in table.fields():
            return not_found(f"{table.name}/{key}")
        if field not in request.query_params:
            return engine_error(f"RST-360011 The parameter '{field}' of filter '{key}' is missing.")
        wanted = request.query_params[field]
        return [i for i in ids if str(table.rows[i].get(field, "")) == wanted]

    def page(table: ResourceTable, ids: list[int], request: Request, key: str | None) -> Response:
        query = request.query_params
        try:
            count = int(query.get("_lineCount", DEFAULT_LINE_COUNT))
        except ValueError:
            return engine_error("RST-360011 '_lineCount' must be a number.")
        if count < 1:
            return engine_error("RST-360011 '_lineCount' must be positive.")
        start = query.get("_lineStart")
        if start is not None:
            first = state.row_id(f"page:{table.name}", start)
            if first is None:
                return engine_error(f"XTK-170036 Unable to parse the position '{start}'.")
            ids = [i for i in ids if i >= first]
        chunk, rest = ids[:count], ids[count:]
        content = [shown(table, i, table.rows[i], request) for i in chunk]
        path = f"{base(request)}/{request.path_params['root']}/{table.name}" + (
            f"/{key}" if key else ""
        )
        kept = [(k, v) for k, v in query.multi_items() if k != "_lineStart"]
        body: dict[str, Any] = {"content": content}
        big = len(table.rows) > state.big_table_threshold
        forced = query.get("_forcePagination") == "true"
        if rest and (not big or forced):
            position = state.pkey(f"page:{table.name}", rest[0])
            body["next"] = {"href": f"{path}?{urlencode([*kept, ('_lineStart', position)])}"}
        if big:
            body["serverSidePagination"] = True
        counted = [(k, v) for k, v in kept if k not in ("_lineCount", "_forcePagination")]
        body["count"] = {"href": f"{path}/_count" + (f"?{urlencode(counted)}" if counted else "")}
        return json_response(body)

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                400,
            )
        issued = state.issue_token(
            str(form.get("client_id", "")), str(form.get("client_secret", ""))
        )
        if issued is None:
            return json_response(
                {
                    "error": "invalid_client",
                    "error_description": "invalid client_id or client_secret parameter",
                },
                400,
            )
        return json_response(
            {"access_token": issued, "token_type": "bearer", "expires_in": state.token_lifetime}
        )

    async def collection(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        with state.lock:
            table = table_of(request)
            if isinstance(table, Response):
                return table
            if request.method == "POST":
                return await create(table, request)
            ids = matching(table, None, request)
            assert isinstance(ids, list)
            return page(table, ids, request, None)

    async def written(table: ResourceTable, request: Request, own: int | None) -> Any:
        """The body's values as the engine takes them, or its refusal (a Response)."""
        try:
            values = checked_values(table, json.loads(await request.body() or b"null"))
        except ValueError:
            return engine_error("XTK-170036 The request body is not JSON.")
        except WriteRefused as refused:
            return refused.response
        clash = _unique_clash(table, values, own)
        return clash if clash is not None else values

    async def create(table: ResourceTable, request: Request) -> Response:
        values = await written(table, request, None)
        if isinstance(values, Response):
            return values
        row_id = state.insert(table.name, _stamped(state, table, {}, values))
        return json_response(shown(table, row_id, table.rows[row_id], request), 201)

    async def count(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        with state.lock:
            table = table_of(request)
            if isinstance(table, Response):
                return table
            ids = matching(table, request.path_params.get("key"), request)
            if isinstance(ids, Response):
                return ids
            return json_response({"count": len(ids)})

    async def item(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        key = request.path_params["key"]
        with state.lock:
            table = table_of(request)
            if isinstance(table, Response):
                return table
            if key == "metadata" and request.method == "GET":  # the listing's href form
                return json_response(
                    resource_metadata(table, base(request), request.path_params["root"])
                )
            if key.startswith("by") and request.method == "GET":
                ids = matching(table, key, request)
                return ids if isinstance(ids, Response) else page(table, ids, request, key)
            if key.startswith("@"):
                row_id = state.row_id(table.name, key)
                if row_id is None:
                    return engine_error(
                        f"XTK-170036 Unable to parse expression '{key}'. Attribute unknown."
                    )
            elif table.custom_key and request.method == "GET":
                row_id = table.find(table.custom_key, key)
            else:
                return not_found(f"{table.name}/{key}")
            if row_id is None or row_id not in table.rows:
                return not_found(f"{table.name}/{key}", bare_json_string=request.method != "GET")
            if request.method == "GET":
                return json_response(shown(table, row_id, table.rows[row_id], request))
            if request.method == "DELETE":
                table.unindex(row_id)
                del table.rows[row_id]
                return Response(status_code=200)
            values = await written(table, request, row_id)
            if isinstance(values, Response):
                return values
            row = table.rows[row_id]
            table.unindex(row_id)
            row.update(_stamped(state, table, row, values))
            table.index(row_id)
            row["lastModified"] = wire_time(state.now())
            answer = shown(table, row_id, row, request)
            return json_response({"PKey": answer["PKey"], "href": answer["href"]})

    async def resources(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        with state.lock:
            return json_response(resource_list(state.tables, base(request)))

    async def metadata(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        with state.lock:
            table = table_of(request)
            if isinstance(table, Response):
                return table
            return json_response(
                resource_metadata(table, base(request), request.path_params["root"])
            )

    async def workflow(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        found = state.workflows.get(request.path_params["id"])
        if found is None:
            return not_found(f"workflow/execution/{request.path_params['id']}")
        here = f"{base(request)}/workflow/execution/{found.id}"
        activities = {
            name: {"name": name, "label": name, "type": "signal",
                   "trigger": {"href": f"{here}/activities/activity/{name}/trigger"}}
            for name in found.signals
        }  # fmt: skip
        return json_response({
            "PKey": state.pkey("workflow", sum(map(ord, found.id))), "id": found.id,
            "label": found.label, "state": "started" if found.running else "stopped",
            "href": here, "activities": {"activity": activities},
        })  # fmt: skip

    async def trigger(request: Request) -> Response:
        denied = guard(request)
        if denied is not None:
            return denied
        raw = await request.body()
        with state.lock:
            found = state.workflows.get(request.path_params["id"])
            name = request.path_params["name"]
            if found is None or name not in found.signals:
                return not_found(f"workflow/execution/{request.path_params['id']}/{name}")
            if len(raw) > state.MAX_SIGNAL_PAYLOAD_BYTES:
                return engine_error("RST-360011 The signal payload is larger than 64 KB.")
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                return engine_error("RST-360011 The signal payload is not JSON.")
            if not isinstance(body, dict) or not body.get("source"):
                return engine_error("RST-360011 The 'source' of a signal is required.")
            parameters = body.get("parameters") or {}
            if not isinstance(parameters, dict):
                return engine_error("RST-360011 'parameters' must be an object.")
            for parameter in parameters:
                if parameter not in found.signals[name]:
                    return engine_error(
                        f"RST-360011 An error has occurred - please contact your administrator. "
                        f"The parameter '{parameter}' isn't defined in signal activity. "
                        "XTK-170006 Unable to parse expression."
                    )
            if not found.running:
                return engine_error(f"RST-360011 The workflow '{found.id}' is not started.")
            last = found.last_trigger.get(name)
            now = state.now()
            if last is not None and now < last + state.SIGNAL_LOCKOUT_SECONDS:
                return Response(
                    f"The signal can only be triggered once every 10 minutes. Next trigger "
                    f"allowed at {wire_time(last + state.SIGNAL_LOCKOUT_SECONDS)}",
                    status_code=429, media_type="text/plain",
                )  # fmt: skip
            found.last_trigger[name] = now
            state.triggers.append(
                SignalTrigger(found.id, name, str(body["source"]), parameters, now)
            )
            state.run_import(found, name, parameters)
            return json_response({"source": body["source"], "parameters": parameters})

    async def unknown(request: Request) -> Response:
        return not_found(request.url.path)

    routes: list[BaseRoute] = [
        Route(TOKEN, token, methods=["POST"]),
        Route(WORKFLOW, workflow, methods=["GET"]),
        Route(TRIGGER, trigger, methods=["POST"]),
        journal_route(state),
        Route(RESOURCES, resources, methods=["GET"]),
        Route(METADATA, metadata, methods=["GET"]),
        Route(COUNT, count, methods=["GET"]),
        Route(FILTER_COUNT, count, methods=["GET"]),
        Route(COLLECTION, collection, methods=["GET", "POST"]),
        Route(ITEM, item, methods=["GET", "PATCH", "DELETE"]),
        Route("/{rest:path}", unknown, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(CountingMiddleware, counters=state.counters, routes=routes, server="adobe"),
            Middleware(
                FaultMiddleware,
                faults=state.faults,
                error_response=proxy_error,
                throttle_response=lambda seconds: gateway_error(
                    429, "429050", "Too many requests", {"Retry-After": str(seconds)}
                ),
                applies=lambda path: path != TOKEN,
            ),
        ],
    )


def _unique_clash(table: ResourceTable, values: dict[str, Any], own: int | None) -> Response | None:
    for field in table.unique:
        value = values.get(field)
        if value in (None, ""):
            continue
        found = table.find(field, value)
        if found is not None and found != own:
            return duplicate_key(table, field, value)
    return None


def _stamped(
    state: AdobeState, table: ResourceTable, row: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """The values with each changed opt-out's `*LastModified` set (profiles only)."""
    if table.name != "profile":
        return values
    stamp = wire_time(state.now())
    stamped = dict(values)
    for name, value in values.items():
        opt_out = name.startswith("blackList") or name == "ccpaOptOut"
        if not opt_out or name.endswith("LastModified") or row.get(name, False) == value:
            continue
        if name + "LastModified" in table.defaults:
            stamped[name + "LastModified"] = stamp
        if name.startswith("blackList"):
            stamped["blackListAllLastModified"] = stamp
    return stamped
