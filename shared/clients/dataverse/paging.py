"""Reading collections page by page (PAD `webapi/query/page-results.md`), resumable.

The first request carries `$select` (always), an optional `$filter` and
`Prefer: odata.maxpagesize=N`; every page's `@odata.nextLink` is then requested unchanged with
the same Prefer header, until a page has none. Pages are yielded one at a time and nothing is
kept, so a table of any size streams in constant memory. A nextLink seen twice means the
service is not advancing: that is an error, not an endless loop.

Each page says where the read continues after it (`Page.resume`, a `LinkPosition` holding the
nextLink): a caller stores it in a checkpoint and a later read started from it requests the
following pages only, never the ones before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

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


class LinkPosition(BaseModel):
    """Where a nextLink read continues: the next page's link as the service gave it (it holds
    the query and the paging cookie) and that page's number. JSON-safe, for a checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    next_link: str = Field(min_length=1)
    page: int = Field(default=2, ge=2)  # only for messages: a nextLink never reads page 1


@dataclass(frozen=True)
class Page:
    """One response of a collection read."""

    number: int  # 1-based
    records: list[Record]
    next_link: str | None
    delta_link: str | None
    headers: Mapping[str, str] = field(repr=False)
    body: Mapping[str, Any] = field(repr=False)

    @property
    def count(self) -> int | None:
        """`@odata.count`, when the read asked for it (Dataverse stops counting at 5,000)."""
        value = self.body.get("@odata.count")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def resume(self) -> LinkPosition | None:
        """The position just after this page; None when it was the last one."""
        if self.next_link is None:
            return None
        return LinkPosition(next_link=self.next_link, page=self.number + 1)


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


def check_position(position: LinkPosition, target: str, *, label: str) -> None:
    """A position must continue the same collection (a caller's mix-up, not the service's)."""
    path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
    path = path.strip("/").lower()
    if not urlsplit(position.next_link).path.lower().endswith("/" + path):
        raise ValueError(f"the saved position does not continue a read of {label}")


def iter_collection(
    transport: DataverseTransport,
    target: str,
    *,
    label: str,
    preferences: Sequence[str] = (),
    first: Page | None = None,
    resume: LinkPosition | None = None,
) -> Iterator[Page]:
    """Pages of `target` (a path relative to the API root, or a link the service gave),
    following nextLinks. `first`, if given, is a page already fetched from `target`; `resume`,
    if given, a saved position of a read of `target` to continue from instead of page 1."""
    headers = prefer(*preferences)
    seen: set[str] = set()
    number, start = 0, target
    if resume is not None:
        check_position(resume, target, label=label)
        number, start = resume.page - 1, resume.next_link
    url: str | None = start
    if first is not None:
        yield first
        seen.add(start)
        number, url = first.number, first.next_link
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
    resume: LinkPosition | None = None,
    order_by: str | None = None,
    count: bool = False,
) -> Iterator[Page]:
    check_name(entity_set, "entity set")
    extra = [("$orderby", order_by)] if order_by else []
    if count:  # `@odata.count` on the first page: up to 5,000 (PAD count-rows.md)
        extra.append(("$count", "true"))
    target = collection_target(entity_set, select, filter=filter, extra=extra)
    return iter_collection(
        transport,
        target,
        label=entity_set,
        preferences=[max_page_size_preference(page_size)],
        resume=resume,
    )
