"""Reading collections page by page (PAD `webapi/query/page-results.md`).

The first request carries `$select` (always), an optional `$filter` and
`Prefer: odata.maxpagesize=N`; every page's `@odata.nextLink` is then requested unchanged with
the same Prefer header, until a page has none. Pages are yielded one at a time and nothing is
kept, so a table of any size streams in constant memory. A nextLink seen twice means the
service is not advancing: that is an error, not an endless loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.clients.dataverse.odata import (
    check_name,
    max_page_size_preference,
    prefer,
    query_string,
    select_option,
)
from shared.clients.dataverse.transport import DataverseTransport
from shared.errors import ApiError

Record = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One response of a collection read."""

    number: int  # 1-based
    records: list[Record]
    next_link: str | None
    delta_link: str | None
    headers: Mapping[str, str] = field(repr=False)
    body: Mapping[str, Any] = field(repr=False)


def collection_target(
    path: str,
    select: Sequence[str],
    *,
    filter: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    options = [("$select", select_option(select))]
    if filter:
        options.append(("$filter", filter))
    options.extend(extra)
    return f"{path}?{query_string(options)}"


def iter_collection(
    transport: DataverseTransport,
    target: str,
    *,
    label: str,
    preferences: Sequence[str] = (),
    first: Page | None = None,
) -> Iterator[Page]:
    """Pages of `target` (a path relative to the API root, or a link the service gave),
    following nextLinks. `first`, if given, is a page already fetched from `target`."""
    headers = prefer(*preferences)
    seen: set[str] = set()
    number = 0
    url: str | None = target
    if first is not None:
        yield first
        number, url = first.number, first.next_link
        seen.add(target)
    while url is not None:
        if url in seen:
            raise ApiError(
                f"Dataverse returned the same @odata.nextLink twice while reading {label} "
                f"(after page {number}); stopped instead of reading the same page forever",
                status=200,
            )
        seen.add(url)
        number += 1
        page = fetch_page(transport, url, label=label, number=number, headers=headers)
        yield page
        url = page.next_link


def fetch_page(
    transport: DataverseTransport,
    url: str,
    *,
    label: str,
    number: int,
    headers: Mapping[str, str],
) -> Page:
    operation = f"GET {label} (page {number})"
    body, response = transport.get_json(url, operation=operation, headers=headers)
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise ApiError(
            f"Dataverse {operation} answered without a 'value' collection",
            status=response.status_code,
        )
    next_link = body.get("@odata.nextLink")
    delta_link = body.get("@odata.deltaLink")
    return Page(
        number=number,
        records=body["value"],
        next_link=str(next_link) if next_link else None,
        delta_link=str(delta_link) if delta_link else None,
        headers=response.headers,
        body=body,
    )


def iter_pages(
    transport: DataverseTransport,
    entity_set: str,
    select: Sequence[str],
    *,
    filter: str | None = None,
    page_size: int,
) -> Iterator[list[Record]]:
    check_name(entity_set, "entity set")
    target = collection_target(entity_set, select, filter=filter)
    for page in iter_collection(
        transport, target, label=entity_set, preferences=[max_page_size_preference(page_size)]
    ):
        yield page.records
