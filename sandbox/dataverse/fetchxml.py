"""FetchXML for the sandbox: `GET <set>?fetchXml=...` (PAD `fetchxml/*.md`).

Supported: `<fetch count page paging-cookie top>`, one `<entity>` with `<attribute>`,
`<all-attributes>`, `<order attribute descending>`, nested `<filter type="and|or">` with
`<condition attribute operator value>` (eq, ne, neq, gt, ge, lt, le, like, not-like,
begins-with, not-begin-with, ends-with, not-end-with, in, not-in, null, not-null). Not
supported (400): `link-entity`, aggregates, `distinct`, attribute aliases and any other
element or fetch attribute that would change the result.

Paging follows the documented cookie model: rows sorted by the order attributes, then the
primary id; the cookie names the first and last row of the page
(`<cookie page="1"><fullname last=".." first=".." />` then the same for `contactid`)
and the next request starts after `last`. Without a cookie, `page` alone skips
(page - 1) * count rows ("simple paging", limited to 50,000 rows by the service).
"""

from __future__ import annotations

import functools
import operator as operators
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.dataverse.odata import (
    PagingCookie,
    bad_request,
    braced,
    parse_inner_cookie,
    unsupported,
)
from sandbox.dataverse.records import Records
from sandbox.dataverse.schema import TableDef
from sandbox.dataverse.store import Row, Table

SIMPLE_PAGING_LIMIT = 50_000
RowTest = Callable[[Row], bool]


@dataclass(frozen=True)
class FetchQuery:
    entity: str
    attributes: list[str] | None  # None: all-attributes
    test: RowTest
    orders: list[tuple[str, bool]]  # (column, descending)
    count: int
    page: int
    cookie: PagingCookie | None
    top: int | None


def _like(pattern: str) -> re.Pattern[str]:
    parts = ["^"]
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    parts.append("$")
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _typed(definition: TableDef, column: str, text: str) -> Any:
    spec = definition.columns.get(column)
    kind = spec.kind if spec else "string"
    if kind in ("int", "bigint", "picklist", "state", "status"):
        try:
            return int(text)
        except ValueError:
            raise bad_request(f"'{text}' is not a valid value for {column}.") from None
    if kind == "decimal":
        return float(text)
    if kind == "bool":
        return text.strip().lower() in ("1", "true")
    if kind in ("guid", "lookup"):
        return text.strip("{}").lower()
    return text


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _condition(definition: TableDef, element: ET.Element) -> RowTest:
    column = element.get("attribute", "")
    if column != definition.primary_id and column not in definition.columns:
        raise bad_request(
            f"'{definition.logical_name}' entity doesn't contain attribute with Name = '{column}'.",
            "0x80041103",
        )
    operator = element.get("operator", "eq")
    raw_values = [v.text or "" for v in element.findall("value")]
    if element.get("value") is not None:
        raw_values.insert(0, element.get("value", ""))
    values = [_typed(definition, column, v) for v in raw_values]

    def get(row: Row) -> Any:
        return Records.read(definition, row, column)

    first = values[0] if values else None
    if operator in ("eq", "ne", "neq"):
        wanted = _norm(first)
        if operator == "eq":
            return lambda row: _norm(get(row)) == wanted
        return lambda row: _norm(get(row)) != wanted
    if operator in ("gt", "ge", "lt", "le"):
        compare: Callable[[Any, Any], Any] = {
            "gt": operators.gt,
            "ge": operators.ge,
            "lt": operators.lt,
            "le": operators.le,
        }[operator]

        def ordered(row: Row) -> bool:
            value = get(row)
            if value is None or first is None:
                return False
            try:
                return bool(compare(_norm(value), _norm(first)))
            except TypeError:
                return False

        return ordered
    if operator in (
        "like",
        "not-like",
        "begins-with",
        "not-begin-with",
        "ends-with",
        "not-end-with",
    ):
        text = str(first or "")
        pattern = _like(
            text
            if operator in ("like", "not-like")
            else text + "%"
            if "begin" in operator
            else "%" + text
        )
        negate = operator.startswith("not-")

        def matches(row: Row) -> bool:
            value = get(row)
            found = isinstance(value, str) and pattern.match(value) is not None
            return found != negate

        return matches
    if operator in ("in", "not-in"):
        wanted_set = {_norm(v) for v in values}
        if operator == "in":
            return lambda row: _norm(get(row)) in wanted_set
        return lambda row: _norm(get(row)) not in wanted_set
    if operator == "null":
        return lambda row: get(row) is None
    if operator == "not-null":
        return lambda row: get(row) is not None
    raise unsupported(f"The FetchXML condition operator '{operator}'")


def _filter(definition: TableDef, element: ET.Element) -> RowTest:
    tests: list[RowTest] = []
    for child in element:
        if child.tag == "condition":
            tests.append(_condition(definition, child))
        elif child.tag == "filter":
            tests.append(_filter(definition, child))
    if element.get("type", "and") == "or":
        return lambda row: any(test(row) for test in tests)
    return lambda row: all(test(row) for test in tests)


def parse_fetch(xml: str, table: Table) -> FetchQuery:
    definition = table.definition
    try:
        fetch = ET.fromstring(xml)
    except ET.ParseError as error:
        raise bad_request(f"The FetchXML is not well-formed: {error}", "0x80041103") from None
    entity = fetch.find("entity")
    if fetch.tag != "fetch" or entity is None:
        raise bad_request("The FetchXML needs a fetch element with an entity.", "0x80041103")
    if entity.get("name") != definition.logical_name:
        raise bad_request(
            f"The entity name '{entity.get('name')}' of the FetchXML does not match the "
            f"entity set '{definition.entity_set}'.",
            "0x80041103",
        )
    if entity.find("link-entity") is not None:
        raise unsupported("FetchXML link-entity")
    # Refused rather than ignored: each would change which rows or values come back.
    for name in ("aggregate", "distinct", "returntotalrecordcount", "latematerialize"):
        if fetch.get(name) not in (None, "false"):
            raise unsupported(f"The fetch attribute {name}")
    for child in entity:
        if child.tag not in ("all-attributes", "attribute", "order", "filter"):
            raise unsupported(f"The FetchXML element {child.tag}")
        if child.tag == "attribute" and set(child.attrib) - {"name"}:
            extra = sorted(set(child.attrib) - {"name"})[0]
            raise unsupported(f"The attribute option {extra}")
    attributes: list[str] | None = []
    orders: list[tuple[str, bool]] = []
    tests: list[RowTest] = []
    for child in entity:
        if child.tag == "all-attributes":
            attributes = None
        elif child.tag == "attribute" and attributes is not None:
            name = child.get("name", "")
            if name != definition.primary_id and name not in definition.columns:
                raise bad_request(
                    f"'{definition.logical_name}' entity doesn't contain attribute with Name = "
                    f"'{name}'.",
                    "0x80041103",
                )
            attributes.append(name)
        elif child.tag == "order":
            orders.append((child.get("attribute", ""), child.get("descending") == "true"))
        elif child.tag == "filter":
            tests.append(_filter(definition, child))
    cookie_xml = fetch.get("paging-cookie")
    try:
        count = int(fetch.get("count") or 5000)
        page = int(fetch.get("page") or 1)
        top_text = fetch.get("top")
        top = int(top_text) if top_text else None
    except ValueError:
        raise bad_request(
            "count, page and top of a fetch element are numbers.", "0x80041103"
        ) from None
    if top is not None and fetch.get("count"):
        raise bad_request(
            "The top attribute can't be specified with paging attribute count.", "0x80041103"
        )
    return FetchQuery(
        entity=definition.logical_name,
        attributes=attributes,
        test=lambda row: all(test(row) for test in tests),
        orders=orders,
        count=min(max(count, 1), 5000),
        page=max(page, 1),
        cookie=parse_inner_cookie(cookie_xml) if cookie_xml else None,
        top=top,
    )


@functools.total_ordering
class _Key:
    """One sort-key element: None first ascending, descending inverts."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, descending: bool) -> None:
        self.value = _norm(value)
        self.descending = descending

    def _cmp(self, other: _Key) -> int:
        a, b = self.value, other.value
        if a == b:
            return 0
        if a is None:
            result = -1
        elif b is None:
            result = 1
        else:
            try:
                result = -1 if a < b else 1
            except TypeError:
                result = -1 if str(a) < str(b) else 1
        return -result if self.descending else result

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._cmp(other) == 0

    def __lt__(self, other: _Key) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        return hash(self.value)


def run_fetch(query: FetchQuery, table: Table) -> tuple[list[Row], bool, PagingCookie | None]:
    """(rows of the requested page, more records?, cookie describing this page)."""
    definition = table.definition
    orders = [o for o in query.orders if o[0] != definition.primary_id]

    def sort_key(row: Row) -> tuple[_Key, ...]:
        keys = [_Key(Records.read(definition, row, c), d) for c, d in orders]
        keys.append(_Key(row.id, False))
        return tuple(keys)

    matching = sorted((r for r in table.rows.values() if query.test(r)), key=sort_key)
    if query.top is not None:
        return matching[: query.top], False, None
    if query.cookie is not None:
        last = [
            _Key(
                _typed(definition, c, query.cookie.attributes.get(c, ("", ""))[0]),
                d,
            )
            for c, d in orders
        ]
        last_id = query.cookie.attributes.get(definition.primary_id, ("", ""))[0]
        last.append(_Key(last_id.strip("{}").lower(), False))
        boundary = tuple(last)
        start = next((i for i, r in enumerate(matching) if sort_key(r) > boundary), len(matching))
    else:
        start = (query.page - 1) * query.count
        if start + query.count > SIMPLE_PAGING_LIMIT:
            raise bad_request(
                "Simple paging cannot return rows past 50,000; use a paging cookie.",
                "0x80041103",
            )
    rows = matching[start : start + query.count]
    more = start + query.count < len(matching)
    cookie = None
    if rows:
        attributes: dict[str, tuple[str, str]] = {}
        for column, _ in orders:
            last_value = Records.read(definition, rows[-1], column)
            first_value = Records.read(definition, rows[0], column)
            attributes[column] = (
                "" if last_value is None else str(last_value),
                "" if first_value is None else str(first_value),
            )
        attributes[definition.primary_id] = (braced(rows[-1].id), braced(rows[0].id))
        cookie = PagingCookie(query.page, attributes, {})
    return rows, more, cookie
