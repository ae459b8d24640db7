"""Paging, as Dotdigital documents it, one page in memory at a time.

v2 (`select` + `skip`): "add select to skip until a call returns 0 rows". `select` is 1..1000
on most calls (0 is refused); a few take more (the spec's default `select` is 2000 on the
modified-since and campaign-activity calls). A page shorter than `select` is the last one, so
that call is saved; a page identical to the one before (a server ignoring `skip`) is an error.

v3 (`limit` + `marker`): follow `_links.next.marker` until there is none (or a page is empty);
a marker seen before would loop forever, so it is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from shared.clients.dotdigital.errors import PagingLoopError, field
from shared.errors import ApiError

V2_MAX_SELECT = 1000
V2_LARGE_MAX_SELECT = 2000
V3_MAX_LIMIT = 5000

FetchV2Page = Callable[[int, int], list[Any]]
"""(select, skip) -> the rows of that page."""
FetchV3Page = Callable[[str | None], Mapping[str, Any]]
"""(marker or None for the first page) -> the response body."""


def check_select(select: int, maximum: int = V2_MAX_SELECT) -> int:
    if not 1 <= select <= maximum:
        raise ValueError(f"select must be between 1 and {maximum}, not {select}")
    return select


def v2_rows(fetch: FetchV2Page, *, select: int, what: str, skip: int = 0) -> Iterator[Any]:
    """Every row of a v2 collection, page by page, from offset `skip` (a checkpointed
    position, so a long read resumes where it stopped)."""
    if skip < 0:
        raise ValueError(f"skip must be 0 or more, not {skip}")
    previous: list[Any] | None = None
    while True:
        rows = fetch(select, skip)
        if not rows:
            return
        if rows == previous:
            raise PagingLoopError(
                f"Dotdigital returned the same page of {what} for skip={skip - select} and "
                f"skip={skip}; stopping instead of looping"
            )
        yield from rows
        if len(rows) < select:
            return
        previous = rows
        skip += select


def next_marker(body: Mapping[str, Any]) -> str | None:
    links = field(dict(body), "_links")
    following = field(links, "next") if isinstance(links, dict) else None
    marker = field(following, "marker") if isinstance(following, dict) else None
    return marker if isinstance(marker, str) and marker else None


def v3_items(fetch: FetchV3Page, *, what: str) -> Iterator[Any]:
    """Every item of a v3 collection, following `_links.next.marker`."""
    marker: str | None = None
    seen: set[str] = set()
    while True:
        body = fetch(marker)
        items = field(dict(body), "_items")
        if not isinstance(items, list):
            raise ApiError(f"Dotdigital returned a page of {what} without _items", status=200)
        yield from items
        following = next_marker(body)
        if not items or following is None:
            return
        if following in seen or following == marker:
            raise PagingLoopError(
                f"Dotdigital returned the paging marker {following!r} for {what} twice; "
                "stopping instead of looping"
            )
        seen.add(following)
        marker = following
