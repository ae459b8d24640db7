"""The Web API resources of the Dataverse sandbox, independent of HTTP plumbing so `$batch`
parts run through exactly the same code as direct requests.

Sources (PAD = MicrosoftDocs/powerapps-docs developer/data-platform/):
- reads: `webapi/query/page-results.md` (maxpagesize, Preference-Applied, nextLink with a
  `$skiptoken` paging cookie), `webapi/query/select-columns.md` (primary key always returned);
- change tracking: `use-change-tracking-synchronize-data-external-systems.md`;
- writes: `webapi/create-entity-web-api.md`, `webapi/update-delete-entities-using-web-api.md`,
  `webapi/perform-conditional-operations-using-web-api.md`, `use-alternate-key-reference-record.md`;
- N:N and actions: `webapi/associate-disassociate-entities-using-web-api.md`, AddMemberList.

Undocumented choices (also in the report): an expired or unknown delta token is answered
`400 {"error":{"code":"0x80044352","message":"Version stamp associated with the client has
expired. Please perform a full sync."}}` (the SDK's ExpiredVersionStamp); the sandbox's
paging cookies for change-tracking reads carry its own attributes (`snapshot`, `phase`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.dataverse.bulk import BulkMessages
from sandbox.dataverse.equality_index import candidates
from sandbox.dataverse.fetchxml import parse_fetch, run_fetch
from sandbox.dataverse.odata import (
    ODataError,
    PagingCookie,
    Predicate,
    Segment,
    bad_request,
    braced,
    delta_token,
    delta_token_param,
    fetchxml_cookie_annotation,
    parse_delta_token,
    parse_filter,
    parse_path,
    parse_skiptoken,
    preferences,
    skiptoken_param,
    unsupported,
)
from sandbox.dataverse.plugin_registration import check_privilege
from sandbox.dataverse.query import (
    COLLECTION_ANNOTATIONS,
    COUNT_EXCEEDED,
    MAX_COUNT,
    NOT_SIMULATED_FUNCTIONS,
    READ_OPTIONS,
    RECORD_ANNOTATIONS,
    TOTAL_COUNT,
    annotation_preference,
    check_options,
    expand_context,
    ordered_ids,
    parse_expand,
    parse_orderby,
)
from sandbox.dataverse.records import Records, key_not_found, not_found
from sandbox.dataverse.rowview import RowView
from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.store import Row, Table, Transaction

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

API_PATH = "/api/data/v9.2"
ODATA_JSON = "application/json; odata.metadata=minimal"
MAX_PAGE_SIZE = 5000
EXPIRED_TOKEN_CODE = "0x80044352"
EXPIRED_TOKEN_MESSAGE = (
    "Version stamp associated with the client has expired. Please perform a full sync."
)
TRACKING_OPTIONS = ("$filter", "$orderby", "$expand", "$top")
FETCH_COOKIE = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
FETCH_MORE = "Microsoft.Dynamics.CRM.morerecords"
FETCH_ANNOTATIONS = frozenset({FETCH_COOKIE, FETCH_MORE})
_QUERY_SAFE = "$,'()@:!*;/="


@dataclass
class ApiRequest:
    method: str
    path: str  # after /api/data/v9.2/, still percent-encoded
    query: list[tuple[str, str]]  # decoded pairs, in order
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port of this server
    transaction: Transaction | None = None

    def option(self, name: str) -> str | None:
        found = [value for key, value in self.query if key == name]
        return found[-1] if found else None

    @property
    def api_url(self) -> str:
        return self.base_url + API_PATH


@dataclass
class ApiResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def json_response(status: int, body: Any, headers: Sequence[tuple[str, str]] = ()) -> ApiResponse:
    return ApiResponse(
        status,
        [("OData-Version", "4.0"), *headers, ("Content-Type", ODATA_JSON)],
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
    )


def error_response(error: ODataError, request_id: str) -> ApiResponse:
    return ApiResponse(
        error.status,
        [
            ("REQ_ID", request_id),
            *error.headers.items(),
            ("Content-Type", ODATA_JSON),
            ("OData-Version", "4.0"),
        ],
        json.dumps(
            {"error": {"code": error.code, "message": error.message}}, separators=(",", ":")
        ).encode("utf-8"),
    )


def query_text(options: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in options)


def _entity_ref(request: ApiRequest, entity_set: str, row_id: str) -> str:
    return f"{request.api_url}/{entity_set}({row_id})"


def _select(definition: TableDef, raw: str | None) -> list[str]:
    if raw is None:
        return definition.readable()
    names = [name.strip() for name in raw.split(",") if name.strip()]
    readable = set(definition.readable()) | {definition.primary_id}
    for name in names:
        if name not in readable:
            raise bad_request(
                f"Could not find a property named '{name}' on type "
                f"'Microsoft.Dynamics.CRM.{definition.logical_name}'."
            )
    return names


def _page_size(prefs: dict[str, str]) -> tuple[int, str | None]:
    """(page size, the Preference-Applied value if the preference was honoured)."""
    raw = prefs.get("odata.maxpagesize")
    if raw is None:
        return MAX_PAGE_SIZE, None
    try:
        size = int(raw)
    except ValueError:
        return MAX_PAGE_SIZE, None
    if not 1 <= size <= MAX_PAGE_SIZE:
        return MAX_PAGE_SIZE, None  # "larger values are ignored"
    return size, f"odata.maxpagesize={size}"


def _json_body(request: ApiRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise bad_request("The request body is not valid JSON.", "0x80048d19") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "0x80048d19")
    return body


class WebApi:
    def __init__(self, state: DataverseState) -> None:
        self.state = state
        self.records = Records(state)

    # Entry ------------------------------------------------------------------------------------

    def handle(self, request: ApiRequest) -> ApiResponse:
        try:
            return self._dispatch(request)
        except ODataError as error:
            return error_response(error, self.state.trace_id())

    def _dispatch(self, request: ApiRequest) -> ApiResponse:
        check_options(request.query, request.method.upper())
        aliases = {k: v for k, v in request.query if k.startswith("@")}
        segments = parse_path(request.path, aliases)
        if not segments:
            raise ODataError(404, "0x8006088a", "Resource not found for the segment ''.")
        first = segments[0]
        if first.name in NOT_SIMULATED_FUNCTIONS:
            raise unsupported(f"The function {first.name}")
        table = self.records.table_for_set(first.name)
        method = request.method.upper()
        check_privilege(self.state, table.definition.logical_name, method)
        if len(segments) == 1:
            if first.key is None:
                if method == "GET":
                    return self.read_collection(request, table)
                if method == "POST":
                    return self.create(request, table)
            else:
                if method == "GET":
                    return self.read_one(request, table, first)
                if method == "PATCH":
                    return self.patch(request, table, first)
                if method == "DELETE":
                    return self.delete(request, table, first)
            raise ODataError(405, "0x80060888", f"The HTTP method {method} is not allowed here.")
        if first.key is None:
            bound = segments[1].name
            if len(segments) == 2 and bound.startswith("Microsoft.Dynamics.CRM."):
                if method != "POST":
                    raise ODataError(405, "0x80060888", "Actions are invoked with POST.")
                return self.bulk(request, table, bound.removeprefix("Microsoft.Dynamics.CRM."))
            raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{bound}'.")
        row = self._row(table, first)
        second = segments[1]
        if second.name.startswith("Microsoft.Dynamics.CRM.") and len(segments) == 2:
            if method != "POST":
                raise ODataError(405, "0x80060888", "Actions are invoked with POST.")
            return self.action(
                request, table, row, second.name.removeprefix("Microsoft.Dynamics.CRM.")
            )
        relation = table.definition.many_to_many.get(second.name)
        if relation is None:
            raise ODataError(
                404, "0x8006088a", f"Resource not found for the segment '{second.name}'."
            )
        if len(segments) == 2 and second.key is None and method == "GET":
            return self.read_navigation(request, table, row, second.name)
        if len(segments) == 3 and segments[2].name == "$ref":
            if method == "POST" and second.key is None:
                return self.associate(request, table, row, second.name)
            if method == "DELETE":
                return self.disassociate(request, table, row, second)
        raise ODataError(405, "0x80060888", f"The HTTP method {method} is not allowed here.")

    def _row(self, table: Table, segment: Segment) -> Row:
        assert segment.key is not None
        row = self.records.find(table, segment.key)
        if row is None:
            if isinstance(segment.key, str):
                raise not_found(table.definition.logical_name, segment.key)
            raise key_not_found(table.definition.logical_name)
        return row

    # Reads ------------------------------------------------------------------------------------

    def _context(
        self,
        request: ApiRequest,
        entity_set: str,
        select: list[str] | None,
        view: RowView | None = None,
    ) -> str:
        items = [*(select or []), *(expand_context(view.expansions) if view else [])]
        columns = f"({','.join(items)})" if items else ""
        return f"{request.api_url}/$metadata#{entity_set}{columns}"

    def _delta_link(self, request: ApiRequest, entity_set: str, token: str) -> str:
        select = query_text([(k, v) for k, v in request.query if k == "$select"])
        separator = "&" if select else ""  # no stray `?&` when the read had no $select
        return (
            f"{request.api_url}/{entity_set}?{select}{separator}"
            f"$deltatoken={delta_token_param(token)}"
        )

    def read_one(self, request: ApiRequest, table: Table, segment: Segment) -> ApiResponse:
        row = self._row(table, segment)
        for name in ("$filter", "$top", "$orderby", "$count", "$skiptoken", "$deltatoken"):
            if request.option(name) is not None:
                raise unsupported(f"The query option {name} on a single record")
        raw_select = request.option("$select")
        select = _select(table.definition, raw_select)
        view, applied = self._view(request, table.definition, RECORD_ANNOTATIONS)
        wanted = request.headers.get("if-none-match")
        # Documented: never 304 with $expand or odata.include-annotations.
        cacheable = not applied and not view.expansions
        if cacheable and wanted and wanted not in ("null", "*") and wanted == row.etag:
            return ApiResponse(304, [("OData-Version", "4.0")])
        body = {
            "@odata.context": self._context(
                request, table.definition.entity_set, select if raw_select else None, view
            )
            + "/$entity",
            **self._render(view, table.definition, row, select),
        }
        headers = [("Preference-Applied", applied)] if applied else []
        return json_response(200, body, headers)

    def _view(
        self, request: ApiRequest, definition: TableDef, supported: frozenset[str]
    ) -> tuple[RowView, str | None]:
        raw_expand = request.option("$expand")
        expansions = (
            []
            if raw_expand is None
            else parse_expand(
                raw_expand, definition, lambda name: self.records.table(name).definition
            )
        )
        prefs = preferences(request.headers.get("prefer"))
        annotations, applied = annotation_preference(prefs, supported)
        names = {
            t.definition.logical_name: t.definition.primary_name for t in self.state.tables.values()
        }
        return RowView(expansions, annotations, names), applied

    def _find(self, logical_name: str, row_id: str) -> Row | None:
        table = self.state.tables.get(logical_name)
        return None if table is None else table.get(row_id)

    def _render(
        self, view: RowView, definition: TableDef, row: Row, select: list[str]
    ) -> dict[str, Any]:
        plain = self.records.serialize(definition, row, select)
        return view.render(definition, row, select, plain, self._find)

    def read_collection(self, request: ApiRequest, table: Table) -> ApiResponse:
        definition = table.definition
        for name, _ in request.query:
            if name.startswith("$") and name not in READ_OPTIONS:
                raise unsupported(f"The query option {name}")
        if request.option("fetchXml") is not None:
            for name, _ in request.query:
                if name.startswith("$"):
                    raise unsupported(f"The query option {name} with fetchXml")
            return self.read_fetchxml(request, table)
        prefs = preferences(request.headers.get("prefer"))
        delta = request.option("$deltatoken")
        if delta is not None:
            return self.read_delta(request, table, delta, prefs)
        tracking = "odata.track-changes" in prefs and definition.change_tracking
        if tracking:
            for option in TRACKING_OPTIONS:
                if request.option(option) is not None:
                    raise bad_request(
                        f'The "{option}" query parameter isn\'t supported when Change Tracking '
                        "is enabled."
                    )
        raw_select = request.option("$select")
        select = _select(definition, raw_select)
        predicate = self._filter(definition, request.option("$filter"))
        raw_order = request.option("$orderby")
        order = parse_orderby(raw_order, definition) if raw_order is not None else []
        raw_count = request.option("$count")
        if raw_count not in (None, "true", "false"):
            raise bad_request(f"Invalid value '{raw_count}' for $count: true or false expected.")
        view, annotations_applied = self._view(request, definition, COLLECTION_ANNOTATIONS)
        size, applied = _page_size(prefs)
        top = request.option("$top")
        if applied is None and top is not None:
            try:
                size = max(0, min(int(top), MAX_PAGE_SIZE))
            except ValueError:
                raise bad_request(f"Invalid value '{top}' for $top.") from None
        cookie = self._skiptoken(request)
        last_id = self._last_id(cookie, definition)
        page_number = 1 if cookie is None else cookie.page + 1
        snapshot = self.state.version
        if tracking and cookie is not None and "snapshot" in cookie.extra:
            snapshot = int(cookie.extra["snapshot"])
        if order:
            # Sorted afresh for each page; the cookie's last id says where the page starts.
            ids = ordered_ids(table, order, partial(Records.read, definition))
            start = ids.index(last_id) + 1 if last_id in ids else 0
            remaining: Iterator[str] = iter(ids[start:])
        else:
            narrowed = None
            if not tracking:  # equality chains (email lookups) read through an index
                filter_text = request.option("$filter")
                narrowed = candidates(table, filter_text, self.state.version, last_id)
            remaining = table.ids_after(last_id) if narrowed is None else narrowed
        rows, more = self._page(table, remaining, predicate, size)
        if applied is None and top is not None:
            more = False
        body: dict[str, Any] = {
            "@odata.context": self._context(
                request, definition.entity_set, select if raw_select else None, view
            )
        }
        if raw_count == "true" or TOTAL_COUNT in view.annotations:
            total = sum(
                1
                for row in table.rows.values()
                if predicate is None or predicate(partial(Records.read, definition, row))
            )
            if raw_count == "true":
                body["@odata.count"] = min(total, MAX_COUNT)
            if TOTAL_COUNT in view.annotations:
                body[f"@{TOTAL_COUNT}"] = min(total, MAX_COUNT) if raw_count == "true" else -1
            if COUNT_EXCEEDED in view.annotations:
                body[f"@{COUNT_EXCEEDED}"] = total > MAX_COUNT
        headers: list[tuple[str, str]] = []
        applied_list = [
            p
            for p in ("odata.track-changes" if tracking else None, applied, annotations_applied)
            if p
        ]
        if applied_list:
            headers.append(("Preference-Applied", ",".join(applied_list)))
        values = [self._render(view, definition, row, select) for row in rows]
        if more:
            extra = {"snapshot": str(snapshot)} if tracking else {}
            next_cookie = self._cookie(definition, rows, page_number, extra, cookie)
            body["value"] = values
            body["@odata.nextLink"] = self._next_link(
                request, definition.entity_set, next_cookie, tracking
            )
        elif tracking:
            token = delta_token(snapshot, self.state.now())
            body["@odata.deltaLink"] = self._delta_link(request, definition.entity_set, token)
            body["value"] = values
        else:
            body["value"] = values
        return json_response(200, body, headers)

    def _filter(self, definition: TableDef, raw: str | None) -> Predicate | None:
        if raw is None:
            return None
        readable = set(definition.readable()) | {definition.primary_id}
        return parse_filter(raw, lambda name: name in readable)

    def _skiptoken(self, request: ApiRequest) -> PagingCookie | None:
        raw = request.option("$skiptoken")
        return None if raw is None else parse_skiptoken(raw)

    @staticmethod
    def _last_id(cookie: PagingCookie | None, definition: TableDef) -> str | None:
        if cookie is None:
            return None
        last, _ = cookie.attributes.get(definition.primary_id, ("", ""))
        return last.strip("{}").lower() or None

    def _page(
        self, table: Table, ids: Iterator[str], predicate: Predicate | None, size: int
    ) -> tuple[list[Row], bool]:
        definition = table.definition
        rows: list[Row] = []
        for row_id in ids:
            row = table.rows.get(row_id)
            if row is None:
                continue
            if predicate is not None and not predicate(partial(Records.read, definition, row)):
                continue
            if len(rows) == size:
                return rows, True
            rows.append(row)
        return rows, False

    def _cookie(
        self,
        definition: TableDef,
        rows: list[Row],
        page_number: int,
        extra: dict[str, str],
        previous: PagingCookie | None,
    ) -> PagingCookie:
        if self.state.repeat_next_link and previous is not None:
            return previous  # a misbehaving service: the cookie does not advance
        attributes = {definition.primary_id: (braced(rows[-1].id), braced(rows[0].id))}
        return PagingCookie(page_number, attributes, extra)

    def _next_link(
        self, request: ApiRequest, path: str, cookie: PagingCookie, tracking: bool
    ) -> str:
        options = [(k, v) for k, v in request.query if k != "$skiptoken"]
        query = query_text(options)
        token = skiptoken_param(cookie, tracking=tracking)
        return f"{request.api_url}/{path}?{query}{'&' if query else ''}$skiptoken={token}"

    def read_delta(
        self, request: ApiRequest, table: Table, raw_token: str, prefs: dict[str, str]
    ) -> ApiResponse:
        definition = table.definition
        parsed = parse_delta_token(raw_token)
        if parsed is None or not definition.change_tracking:
            raise bad_request(EXPIRED_TOKEN_MESSAGE, EXPIRED_TOKEN_CODE)
        since, issued = parsed
        age = self.state.now() - issued
        if (
            since < self.state.min_delta_version
            or since > self.state.version
            or age > self.state.change_tracking_days * 86_400
        ):
            raise bad_request(EXPIRED_TOKEN_MESSAGE, EXPIRED_TOKEN_CODE)
        for option in TRACKING_OPTIONS:
            if request.option(option) is not None:
                raise bad_request(
                    f'The "{option}" query parameter isn\'t supported when Change Tracking is '
                    "enabled."
                )
        if request.option("$count") is not None:
            raise unsupported("The query option $count on a delta link")
        raw_select = request.option("$select")
        select = _select(definition, raw_select)
        view, annotations_applied = self._view(request, definition, RECORD_ANNOTATIONS)
        size, applied = _page_size(prefs)
        cookie = self._skiptoken(request)
        snapshot = self.state.version
        position = (0, 0)  # (phase 0 changes / 1 deletions, last version served)
        page_number = 1
        if cookie is not None:
            snapshot = int(cookie.extra.get("snapshot", snapshot))
            position = (int(cookie.extra.get("phase", "0")), int(cookie.extra.get("last", "0")))
            page_number = cookie.page + 1
        changes = sorted(
            (row.version, row.id) for row in table.rows.values() if since < row.version <= snapshot
        )
        deletions = [(v, i) for v, i in table.tombstones if since < v <= snapshot]
        entries = [(0, v, i) for v, i in changes] + [(1, v, i) for v, i in deletions]
        entries = [e for e in entries if (e[0], e[1]) > position]
        page, more = entries[:size], len(entries) > size
        values: list[dict[str, Any]] = []
        for phase, _, row_id in page:
            row = table.rows.get(row_id) if phase == 0 else None
            if row is not None:
                values.append(self._render(view, definition, row, select))
            else:
                values.append(
                    {
                        "@odata.context": f"{request.api_url}/$metadata#"
                        f"{definition.entity_set}/$deletedEntity",
                        "id": row_id,
                        "reason": "deleted",
                    }
                )
        body: dict[str, Any] = {
            "@odata.context": self._context(
                request, definition.entity_set, select if raw_select else None
            )
            + "/$delta"
        }
        applied_list = [p for p in (applied, annotations_applied) if p]
        headers = [("Preference-Applied", ",".join(applied_list))] if applied_list else []
        if more:
            phase, version, _ = page[-1]
            extra = {"snapshot": str(snapshot), "phase": str(phase), "last": str(version)}
            next_cookie = PagingCookie(page_number, {"versionnumber": (str(version), "")}, extra)
            if self.state.repeat_next_link and cookie is not None:
                next_cookie = cookie
            body["value"] = values
            body["@odata.nextLink"] = self._next_link(
                request, definition.entity_set, next_cookie, True
            )
        else:
            token = delta_token(snapshot, self.state.now())
            body["@odata.deltaLink"] = self._delta_link(request, definition.entity_set, token)
            body["value"] = values
        return json_response(200, body, headers)

    def read_navigation(
        self, request: ApiRequest, table: Table, row: Row, navigation: str
    ) -> ApiResponse:
        relation = table.definition.many_to_many[navigation]
        other = self.records.table(relation.other)
        membership = self.state.membership
        if table.definition.logical_name == "list":
            ids = membership.member_ids(row.id)
        else:
            ids = membership.list_ids(row.id)
        for name, _ in request.query:
            if name.startswith("$") and name not in ("$select", "$filter", "$skiptoken"):
                raise unsupported(f"The query option {name} on a navigation property")
        raw_select = request.option("$select")
        select = _select(other.definition, raw_select)
        predicate = self._filter(other.definition, request.option("$filter"))
        prefs = preferences(request.headers.get("prefer"))
        size, applied = _page_size(prefs)
        cookie = self._skiptoken(request)
        last_id = self._last_id(cookie, other.definition)
        page_number = 1 if cookie is None else cookie.page + 1
        remaining = iter(ids if last_id is None else [i for i in ids if i > last_id])
        rows, more = self._page(other, remaining, predicate, size)
        body: dict[str, Any] = {
            "@odata.context": self._context(
                request, other.definition.entity_set, select if raw_select else None
            ),
            "value": [self.records.serialize(other.definition, r, select) for r in rows],
        }
        if more:
            next_cookie = self._cookie(other.definition, rows, page_number, {}, cookie)
            path = request.path.split("?", 1)[0]
            body["@odata.nextLink"] = self._next_link(request, path, next_cookie, False)
        headers = [("Preference-Applied", applied)] if applied else []
        return json_response(200, body, headers)

    def read_fetchxml(self, request: ApiRequest, table: Table) -> ApiResponse:
        xml = request.option("fetchXml") or ""
        query = parse_fetch(xml, table)
        rows, more, cookie = run_fetch(query, table)
        if self.state.repeat_next_link and query.cookie is not None:
            cookie = query.cookie  # a misbehaving service: the paging cookie does not advance
        definition = table.definition
        select = query.attributes if query.attributes is not None else definition.readable()
        select = [
            f"_{name}_value"
            if definition.columns.get(name) and definition.columns[name].kind == "lookup"
            else name
            for name in select
        ]
        prefs = preferences(request.headers.get("prefer"))
        annotations, wanted = annotation_preference(prefs, FETCH_ANNOTATIONS)
        show_cookie = FETCH_COOKIE in annotations
        show_more = FETCH_MORE in annotations
        body: dict[str, Any] = {
            "@odata.context": self._context(request, definition.entity_set, select),
        }
        if show_cookie and cookie is not None and more:
            body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = fetchxml_cookie_annotation(
                cookie
            )
        if show_more:
            body["@Microsoft.Dynamics.CRM.morerecords"] = more
        # FetchXML results leave out columns without a value (the documented sample does).
        body["value"] = [
            {
                k: v
                for k, v in self.records.serialize(definition, r, select).items()
                if v is not None
            }
            for r in rows
        ]
        headers = [("Preference-Applied", wanted)] if wanted else []
        return json_response(200, body, headers)

    # Writes -----------------------------------------------------------------------------------

    def _written(
        self, request: ApiRequest, table: Table, row: Row, status_if_body: int
    ) -> ApiResponse:
        definition = table.definition
        prefs = preferences(request.headers.get("prefer"))
        if "return" in prefs and prefs["return"] == "representation":
            raw_select = request.option("$select")
            select = _select(definition, raw_select)
            view, annotations = self._view(request, definition, RECORD_ANNOTATIONS)
            body = {
                "@odata.context": self._context(
                    request, definition.entity_set, select if raw_select else None, view
                )
                + "/$entity",
                **self._render(view, definition, row, select),
            }
            applied = ",".join(p for p in ("return=representation", annotations) if p)
            return json_response(status_if_body, body, [("Preference-Applied", applied)])
        location = _entity_ref(request, definition.entity_set, row.id)
        return ApiResponse(
            204,
            [("OData-Version", "4.0"), ("Location", location), ("OData-EntityId", location)],
        )

    def create(self, request: ApiRequest, table: Table) -> ApiResponse:
        row = self.records.create(table, _json_body(request), transaction=request.transaction)
        return self._written(request, table, row, 201)

    def patch(self, request: ApiRequest, table: Table, segment: Segment) -> ApiResponse:
        assert segment.key is not None
        definition = table.definition
        body = _json_body(request)
        row = self.records.find(table, segment.key)
        if_match = request.headers.get("if-match")
        if_none_match = request.headers.get("if-none-match")
        if row is None:
            if if_match:
                if isinstance(segment.key, str):
                    raise ODataError(
                        404, "", f"{definition.logical_name} With Id = {segment.key} Does Not Exist"
                    )
                raise key_not_found(definition.logical_name)
            key_values: dict[str, Any] = {}
            row_id = None
            if isinstance(segment.key, str):
                row_id = segment.key
            else:
                key_values = dict(segment.key)
                row_id = key_values.pop(definition.primary_id, None)
            created = self.records.create(
                table,
                body,
                row_id=row_id,
                key_values=key_values,
                transaction=request.transaction,
            )
            return self._written(request, table, created, 201)
        if if_none_match == "*":
            raise ODataError(412, "", "A record with matching key values already exists.")
        if if_match and if_match != "*" and if_match != row.etag:
            raise ODataError(
                412,
                "",
                "The version of the existing record doesn't match the RowVersion property "
                "provided.",
            )
        updated = self.records.update(table, row, body, transaction=request.transaction)
        return self._written(request, table, updated, 200)

    def delete(self, request: ApiRequest, table: Table, segment: Segment) -> ApiResponse:
        row = self._row(table, segment)
        if_match = request.headers.get("if-match")
        if if_match and if_match != "*" and if_match != row.etag:
            raise ODataError(
                412,
                "",
                "The version of the existing record doesn't match the RowVersion property "
                "provided.",
            )
        self.records.delete(table, row, transaction=request.transaction)
        return ApiResponse(204, [("OData-Version", "4.0")])

    def bulk(self, request: ApiRequest, table: Table, message: str) -> ApiResponse:
        ids = BulkMessages(self.records).run(
            table, message, _json_body(request), request.transaction
        )
        if message != "CreateMultiple":
            return ApiResponse(204, [("OData-Version", "4.0")])
        context = f"{request.api_url}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
        return json_response(200, {"@odata.context": context, "Ids": ids})

    # Relationships and actions ----------------------------------------------------------------

    def _list_and_member(
        self, table: Table, row: Row, navigation: str, other_id: str
    ) -> tuple[Row, str]:
        if table.definition.logical_name == "list":
            expected = table.definition.many_to_many[navigation].other
            list_row, member_id = row, other_id
        else:
            expected = table.definition.logical_name
            list_row_found = self.records.table("list").get(other_id)
            if list_row_found is None:
                raise not_found("list", other_id)
            list_row, member_id = list_row_found, row.id
        member_type = {1: "account", 2: "contact", 4: "lead"}.get(
            int(list_row.values.get("createdfromcode") or 0)
        )
        if member_type != expected:
            raise bad_request(
                f"A {expected} cannot be a member of a marketing list of {member_type}s.",
                "0x80040203",
            )
        return list_row, member_id

    def associate(
        self, request: ApiRequest, table: Table, row: Row, navigation: str
    ) -> ApiResponse:
        body = _json_body(request)
        target_table, target_id = self.records.bind_target(body.get("@odata.id"))
        relation = table.definition.many_to_many[navigation]
        if target_table.definition.logical_name != relation.other:
            raise bad_request(
                f"The navigation property '{navigation}' relates to '{relation.other}', not "
                f"'{target_table.definition.logical_name}'.",
                "0x80060888",
            )
        if target_table.get(target_id) is None:
            raise not_found(target_table.definition.logical_name, target_id)
        list_row, member_id = self._list_and_member(table, row, navigation, target_id)
        self.records.add_member(list_row, member_id, transaction=request.transaction)
        return ApiResponse(204, [("OData-Version", "4.0")])

    def disassociate(
        self, request: ApiRequest, table: Table, row: Row, segment: Segment
    ) -> ApiResponse:
        if isinstance(segment.key, str):
            other_id = segment.key
        else:
            reference = request.option("$id")
            if reference is None:
                raise bad_request("Removing a reference needs the related row's id or $id.")
            _, other_id = self.records.bind_target(reference)
        list_row, member_id = self._list_and_member(table, row, segment.name, other_id)
        self.records.remove_member(list_row, member_id, transaction=request.transaction)
        return ApiResponse(204, [("OData-Version", "4.0")])

    def action(self, request: ApiRequest, table: Table, row: Row, name: str) -> ApiResponse:
        if table.definition.logical_name != "list" or name != "AddMemberList":
            raise ODataError(
                404,
                "0x8006088a",
                f"Resource not found for the segment 'Microsoft.Dynamics.CRM.{name}'.",
            )
        body = _json_body(request)
        entity_id = body.get("EntityId")
        if not isinstance(entity_id, str):
            raise bad_request(
                "AddMemberList needs the parameter EntityId (Edm.Guid).", "0x80040203"
            )
        listmember_id, _ = self.records.add_member(row, entity_id, transaction=request.transaction)
        return json_response(
            200,
            {
                "@odata.context": f"{request.api_url}/$metadata#"
                "Microsoft.Dynamics.CRM.AddMemberListResponse",
                "Id": listmember_id,
            },
        )
