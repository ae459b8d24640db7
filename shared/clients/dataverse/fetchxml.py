"""FetchXML queries over the Web API, paged with paging cookies (PAD
`fetchxml/page-results.md`, Web API tab).

`GET <set>?fetchXml=<url-encoded xml>` with
`Prefer: odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,
Microsoft.Dynamics.CRM.morerecords"`. While `@Microsoft.Dynamics.CRM.morerecords` is true, the
next request sets the fetch element's `page` to the cookie's `pagenumber` and its
`paging-cookie` to the cookie's `pagingcookie` attribute URL-decoded twice (the XML writer
escapes it). Without a cookie (queries that do not support one) paging falls back to simple
`page` numbers, which the service limits to 50,000 rows: beyond that this is an error.

Limits: a GET URL holds at most 32 KB, so very long FetchXML would need a `$batch` GET
(not done here); `top` cannot be combined with paging and is refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from urllib.parse import unquote

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


def prepare_fetch(fetch_xml: str, *, select: Sequence[str] | None, page_size: int) -> ET.Element:
    """The fetch element ready for page 1: `count` = page size, and the `attribute` elements
    replaced by `select` when given."""
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
        for position, name in enumerate(select):
            element = ET.Element("attribute", {"name": check_name(name)})
            entity.insert(position, element)
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
) -> Iterator[list[Record]]:
    check_name(entity_set, "entity set")
    fetch = prepare_fetch(fetch_xml, select=select, page_size=page_size)
    headers = {"Prefer": PAGING_ANNOTATIONS}
    seen: set[str] = set()
    page = 1
    while True:
        xml = ET.tostring(fetch, encoding="unicode")
        operation = f"GET {entity_set} (FetchXML page {page})"
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
        yield body["value"]
        if body.get(MORE_RECORDS_ANNOTATION) is not True:
            return
        cookie = body.get(COOKIE_ANNOTATION)
        if isinstance(cookie, str) and cookie.strip():
            try:
                element = ET.fromstring(cookie)
            except ET.ParseError:
                raise ApiError(
                    f"Dataverse {operation} returned a paging cookie that is not XML", status=200
                ) from None
            raw = unquote(unquote(element.get("pagingcookie", "")))
            if raw in seen:
                raise ApiError(
                    f"Dataverse returned the same FetchXML paging cookie twice for {entity_set} "
                    f"(after page {page}); stopped instead of reading the same page forever",
                    status=200,
                )
            seen.add(raw)
            next_page = int(element.get("pagenumber") or page + 1)
            if next_page <= page:
                raise ApiError(
                    f"Dataverse's FetchXML paging cookie for {entity_set} did not advance "
                    f"(page {page} -> {next_page})",
                    status=200,
                )
            fetch.set("paging-cookie", raw)
        else:
            next_page = page + 1
            if page * page_size >= SIMPLE_PAGING_LIMIT:
                raise ApiError(
                    f"Dataverse gave no paging cookie for this FetchXML query on {entity_set}; "
                    f"simple paging stops at {SIMPLE_PAGING_LIMIT:,} rows",
                    status=200,
                )
            fetch.attrib.pop("paging-cookie", None)
        fetch.set("page", str(next_page))
        page = next_page
