"""Members of a marketing list, page by page, with a token to resume after any page.

The client's `iter_list_members` streams pages but cannot start in the middle; a run that
pauses (time budget) or dies mid-list must continue where its last checkpoint was. So:

- static lists: the N:N navigation `lists(<id>)/list<type>_association` read with `$select`
  and `odata.maxpagesize`; the resume token is the page's `@odata.nextLink`, requested as is;
- dynamic lists: the list's FetchXML with the same columns as `<attribute>`s, paged with
  paging cookies; the resume token is the next page number and the cookie.

A lookup column is `_x_value` in `$select` but `x` as a FetchXML attribute (the Web API returns
it as `_x_value` either way), so the FetchXML columns are translated.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from shared.clients.dataverse.fetchxml import (
    COOKIE_ANNOTATION,
    MORE_RECORDS_ANNOTATION,
    PAGING_ANNOTATIONS,
    SIMPLE_PAGING_LIMIT,
    prepare_fetch,
)
from shared.clients.dataverse.lists import MarketingList
from shared.clients.dataverse.odata import (
    check_guid,
    entity_path,
    max_page_size_preference,
    query_string,
)
from shared.clients.dataverse.paging import Record, collection_target, iter_collection
from shared.clients.dataverse.transport import DataverseTransport
from shared.errors import ApiError

Resume = dict[str, Any]


@dataclass(frozen=True)
class MemberPage:
    records: list[Record]
    # Where the next page starts; None when this page was the last one.
    resume: Resume | None


def fetch_attribute(column: str) -> str:
    """The FetchXML attribute for a Web API column name (`_x_value` -> `x`)."""
    if column.startswith("_") and column.endswith("_value") and len(column) > 7:
        return column[1:-6]
    return column


def iter_member_pages(
    transport: DataverseTransport,
    mlist: MarketingList,
    select: Sequence[str],
    *,
    page_size: int,
    resume: Resume | None = None,
) -> Iterator[MemberPage]:
    """Pages of the list's members from the start, or from `resume` (a page's token)."""
    if mlist.dynamic:
        if not mlist.query:
            yield MemberPage([], None)
            return
        yield from _fetchxml_pages(transport, mlist, select, page_size=page_size, resume=resume)
    else:
        yield from _static_pages(transport, mlist, select, page_size=page_size, resume=resume)


def _static_pages(
    transport: DataverseTransport,
    mlist: MarketingList,
    select: Sequence[str],
    *,
    page_size: int,
    resume: Resume | None,
) -> Iterator[MemberPage]:
    navigation = mlist.member_type.navigation
    if resume and resume.get("next_link"):
        target = str(resume["next_link"])
    else:
        target = collection_target(f"{entity_path('lists', mlist.list_id)}/{navigation}", select)
    label = f"lists({check_guid(mlist.list_id)})/{navigation}"
    for page in iter_collection(
        transport, target, label=label, preferences=[max_page_size_preference(page_size)]
    ):
        yield MemberPage(page.records, {"next_link": page.next_link} if page.next_link else None)


def _fetchxml_pages(
    transport: DataverseTransport,
    mlist: MarketingList,
    select: Sequence[str],
    *,
    page_size: int,
    resume: Resume | None,
) -> Iterator[MemberPage]:
    member_type = mlist.member_type
    columns: list[str] = []
    for column in [*select, member_type.primary_key]:
        attribute = fetch_attribute(column)
        if attribute not in columns:
            columns.append(attribute)
    assert mlist.query is not None
    fetch = prepare_fetch(mlist.query, select=columns, page_size=page_size)
    page = 1
    if resume:
        page = int(resume.get("page") or 1)
        fetch.set("page", str(page))
        if resume.get("cookie"):
            fetch.set("paging-cookie", str(resume["cookie"]))
    entity_set = member_type.entity_set
    headers = {"Prefer": PAGING_ANNOTATIONS}
    seen: set[str] = set()
    while True:
        xml = ET.tostring(fetch, encoding="unicode")
        operation = f"GET {entity_set} (list {mlist.list_id} FetchXML page {page})"
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
        records: list[Record] = body["value"]
        if body.get(MORE_RECORDS_ANNOTATION) is not True:
            yield MemberPage(records, None)
            return
        next_page, cookie = _next_position(body.get(COOKIE_ANNOTATION), page, page_size, seen)
        if cookie is None:
            fetch.attrib.pop("paging-cookie", None)
        else:
            fetch.set("paging-cookie", cookie)
        fetch.set("page", str(next_page))
        yield MemberPage(records, {"page": next_page, "cookie": cookie})
        page = next_page


def _next_position(
    annotation: Any, page: int, page_size: int, seen: set[str]
) -> tuple[int, str | None]:
    """(next page number, paging cookie or None for simple paging)."""
    if isinstance(annotation, str) and annotation.strip():
        try:
            element = ET.fromstring(annotation)
        except ET.ParseError:
            raise ApiError(
                "Dataverse returned a paging cookie that is not XML", status=200
            ) from None
        raw = unquote(unquote(element.get("pagingcookie", "")))
        if raw in seen:
            raise ApiError(
                f"Dataverse returned the same FetchXML paging cookie twice (after page {page}); "
                "stopped instead of reading the same page forever",
                status=200,
            )
        seen.add(raw)
        next_page = int(element.get("pagenumber") or page + 1)
        if next_page <= page:
            raise ApiError(
                f"Dataverse's FetchXML paging cookie did not advance (page {page} -> {next_page})",
                status=200,
            )
        return next_page, raw
    if page * page_size >= SIMPLE_PAGING_LIMIT:
        raise ApiError(
            "Dataverse gave no paging cookie for this FetchXML query; simple paging stops at "
            f"{SIMPLE_PAGING_LIMIT:,} rows",
            status=200,
        )
    return page + 1, None
