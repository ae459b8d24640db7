"""FetchXML queries over the Web API, paged with paging cookies (PAD
`fetchxml/page-results.md`, Web API tab), resumable.

`GET <set>?fetchXml=<url-encoded xml>` with
`Prefer: odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,
Microsoft.Dynamics.CRM.morerecords"`. While `@Microsoft.Dynamics.CRM.morerecords` is true, the
next request sets the fetch element's `page` to the cookie's `pagenumber` and its
`paging-cookie` to the cookie's `pagingcookie` attribute URL-decoded twice (the XML writer
escapes it). Without a cookie (queries that do not support one) paging falls back to simple
`page` numbers, which the service limits to 50,000 rows: beyond that this is an error. Each page
says where the read continues (`FetchXmlPosition`: page number and cookie), so a read can stop
after any page and a later one continue from there.

Columns: `select` takes the Web API names the `$select` reads use. A lookup is `_x_value` there
but its logical name `x` as a FetchXML attribute (Dataverse refuses `_x_value`), and the rows
come back with `_x_value` again (PAD sample: `_transactioncurrencyid_value`). FetchXML leaves
out columns without a value; they are put back as None so rows have the same shape as
`$select` rows.

Limits: a GET URL holds at most 32 KB, so very long FetchXML would need a `$batch` GET
(not done here); `top` cannot be combined with paging and is refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field

from shared.clients.dataverse.odata import check_name, check_page_size, query_string
from shared.clients.dataverse.paging import Record
from shared.clients.dataverse.transport import DataverseTransport
from shared.errors import ApiError, BadInputError

PAGING_ANNOTATIONS = (
    'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,'
    'Microsoft.Dynamics.CRM.morerecords"'
)
COOKIE_ANNOTATION = "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
MORE_RECORDS_ANNOTATION = "@Microsoft.Dynamics.CRM.morerecords"
SIMPLE_PAGING_LIMIT = 50_000


class InvalidFetchXml(BadInputError):
    """A query (a dynamic marketing list's, written in Dynamics) this client cannot page."""


class FetchXmlPosition(BaseModel):
    """Where a FetchXML read continues: the next page's number and the paging cookie to send
    with it (decoded; None for simple paging). JSON-safe, for a checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    page: int = Field(ge=2)
    cookie: str | None = None


@dataclass(frozen=True)
class FetchXmlPage:
    number: int  # 1-based
    records: list[Record]
    resume: FetchXmlPosition | None  # the position just after this page; None after the last


def fetch_attribute(column: str) -> str:
    """The FetchXML attribute of a Web API column name: `_x_value` (a lookup) -> `x`."""
    if column.startswith("_") and column.endswith("_value") and len(column) > len("__value"):
        return column[1 : -len("_value")]
    return column


def prepare_fetch(fetch_xml: str, *, select: Sequence[str] | None, page_size: int) -> ET.Element:
    """The fetch element ready for page 1: `count` = page size, and the `attribute` elements
    replaced by `select` (Web API names) when given."""
    try:
        fetch = ET.fromstring(fetch_xml)
    except ET.ParseError as error:
        raise InvalidFetchXml(f"not well-formed FetchXML: {error}") from None
    if fetch.tag != "fetch":
        raise InvalidFetchXml("FetchXML must have a <fetch> root element")
    entity = fetch.find("entity")
    if entity is None or not entity.get("name"):
        raise InvalidFetchXml("FetchXML needs an <entity name=...> element")
    if fetch.get("top"):
        raise InvalidFetchXml("FetchXML 'top' cannot be combined with paging; remove it")
    if select is not None:
        for child in list(entity):
            if child.tag in ("attribute", "all-attributes"):
                entity.remove(child)
        attributes = dict.fromkeys(fetch_attribute(check_name(name)) for name in select)
        for position, name in enumerate(attributes):
            entity.insert(position, ET.Element("attribute", {"name": name}))
    fetch.set("count", str(check_page_size(page_size)))
    fetch.set("page", "1")
    fetch.attrib.pop("paging-cookie", None)
    return fetch


def iter_fetchxml_pages(
    transport: DataverseTransport,
    entity_set: str,
    fetch_xml: str,
    *,
    select: Sequence[str] | None = None,
    page_size: int,
    resume: FetchXmlPosition | None = None,
    label: str | None = None,
) -> Iterator[FetchXmlPage]:
    """Pages of the query's rows from page 1, or from `resume` (a page's saved position)."""
    check_name(entity_set, "entity set")
    fetch = prepare_fetch(fetch_xml, select=select, page_size=page_size)
    return _pages(
        transport,
        entity_set,
        fetch,
        select=list(select) if select is not None else None,
        page_size=page_size,
        resume=resume,
        label=label or entity_set,
    )


def _pages(
    transport: DataverseTransport,
    entity_set: str,
    fetch: ET.Element,
    *,
    select: list[str] | None,
    page_size: int,
    resume: FetchXmlPosition | None,
    label: str,
) -> Iterator[FetchXmlPage]:
    headers = {"Prefer": PAGING_ANNOTATIONS}
    seen: set[str] = set()
    page = 1
    if resume is not None:
        page = resume.page
        if resume.cookie is not None:
            seen.add(resume.cookie)
        _move(fetch, resume)
    while True:
        xml = ET.tostring(fetch, encoding="unicode")
        operation = f"GET {label} (FetchXML page {page})"
        body, response = transport.get_json(
            f"{entity_set}?{query_string([('fetchXml', xml)])}",
            operation=operation,
            headers=headers,
        )
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise ApiError(
                f"Dataverse {operation} answered without a 'value' collection",
                status=response.status_code,
            )
        records = _shaped(body["value"], select)
        if body.get(MORE_RECORDS_ANNOTATION) is not True:
            yield FetchXmlPage(page, records, None)
            return
        following = _next_position(body.get(COOKIE_ANNOTATION), page, page_size, seen, label)
        yield FetchXmlPage(page, records, following)
        _move(fetch, following)
        page = following.page


def _move(fetch: ET.Element, position: FetchXmlPosition) -> None:
    fetch.set("page", str(position.page))
    if position.cookie is None:
        fetch.attrib.pop("paging-cookie", None)
    else:
        fetch.set("paging-cookie", position.cookie)


def _shaped(rows: list[Any], select: list[str] | None) -> list[Record]:
    """Rows with every selected column, None where FetchXML left a column out."""
    if select is None:
        return rows
    for row in rows:
        if isinstance(row, dict):
            for column in select:
                row.setdefault(column, None)
    return rows


def _next_position(
    annotation: Any, page: int, page_size: int, seen: set[str], label: str
) -> FetchXmlPosition:
    """The position after `page`: the cookie's page number and cookie, or simple paging."""
    if isinstance(annotation, str) and annotation.strip():
        try:
            element = ET.fromstring(annotation)
        except ET.ParseError:
            raise ApiError(
                f"Dataverse returned a paging cookie that is not XML for {label}", status=200
            ) from None
        raw = unquote(unquote(element.get("pagingcookie", "")))
        if raw in seen:
            raise ApiError(
                f"Dataverse returned the same FetchXML paging cookie twice for {label} "
                f"(after page {page}); stopped instead of reading the same page forever",
                status=200,
            )
        seen.add(raw)
        next_page = int(element.get("pagenumber") or page + 1)
        if next_page <= page:
            raise ApiError(
                f"Dataverse's FetchXML paging cookie for {label} did not advance "
                f"(page {page} -> {next_page})",
                status=200,
            )
        return FetchXmlPosition(page=next_page, cookie=raw)
    if page * page_size >= SIMPLE_PAGING_LIMIT:
        raise ApiError(
            f"Dataverse gave no paging cookie for this FetchXML query on {label}; "
            f"simple paging stops at {SIMPLE_PAGING_LIMIT:,} rows",
            status=200,
        )
    return FetchXmlPosition(page=page + 1)
