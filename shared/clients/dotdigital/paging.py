"""Paging, as Dotdigital documents it, one page in memory at a time, resumable.

v2 (`select` + `skip`): "add select to skip until a call returns 0 rows". `select` is 1..1000
on most calls (0 is refused); a few take more (the spec's default `select` is 2000 on the
modified-since and campaign-activity calls). A page shorter than `select` is the last one, so
that call is saved; a page identical to the one before (a server ignoring `skip`) is an error.
The position after a page is the next `skip` (an int).

v3 (`limit` + `marker`): follow `_links.next.marker` until there is none (or a page is empty);
a marker seen before would loop forever, so it is an error. The position after a page is the
next marker (a string; the same filters must be sent with it).

Every response is a page (an empty collection is one empty page) and each says where the read
continues (`ItemsPage.resume`, None after the last page): a caller stores it in a checkpoint and
a later read started from it (`skip=` / `marker=`) requests the following pages only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.clients.dotdigital.errors import PagingLoopError, field
from shared.errors import ApiError

V2_MAX_SELECT = 1000
V2_LARGE_MAX_SELECT = 2000
V3_MAX_LIMIT = 5000

T = TypeVar("T")
U = TypeVar("U")
P = TypeVar("P")

FetchV2Page = Callable[[int, int], list[Any]]
"""(select, skip) -> the rows of that page."""
FetchV3Page = Callable[[str | None], Mapping[str, Any]]
"""(marker or None for the first page) -> the response body."""


@dataclass(frozen=True)
class ItemsPage(Generic[T, P]):
    """One response: its items and the position just after it (None after the last page)."""

    items: list[T]
    resume: P | None


class Paged(Iterator[T], Generic[T, P]):
    """A paged read: iterate it for the items one by one, or call `pages()` for the pages with
    their positions (one way or the other, once). Pages are fetched as they are consumed."""

    def __init__(self, pages: Iterator[ItemsPage[Any, P]], convert: Callable[[Any], T]) -> None:
        self._pages = pages
        self._convert = convert
        self._items: Iterator[T] | None = None
        self._paged = False

    def pages(self) -> Iterator[ItemsPage[T, P]]:
        if self._items is not None or self._paged:
            raise RuntimeError("a paged read is consumed once, by items or by pages")
        self._paged = True
        return (ItemsPage([self._convert(i) for i in p.items], p.resume) for p in self._pages)

    def __next__(self) -> T:
        if self._items is None:
            if self._paged:
                raise RuntimeError("a paged read is consumed once, by items or by pages")
            self._items = (self._convert(item) for page in self._pages for item in page.items)
        return next(self._items)

    def __iter__(self) -> Paged[T, P]:
        return self


def check_select(select: int, maximum: int = V2_MAX_SELECT) -> int:
    if not 1 <= select <= maximum:
        raise ValueError(f"select must be between 1 and {maximum}, not {select}")
    return select


def check_skip(skip: int) -> int:
    if skip < 0:
        raise ValueError(f"skip must be 0 or more, not {skip}")
    return skip


def v2_pages(
    fetch: FetchV2Page, *, select: int, what: str, skip: int = 0
) -> Iterator[ItemsPage[Any, int]]:
    """The pages of a v2 collection from offset `skip` (0, or a page's saved `resume`)."""
    check_skip(skip)
    previous: list[Any] | None = None
    while True:
        rows = fetch(select, skip)
        if rows and rows == previous:
            raise PagingLoopError(
                f"Dotdigital returned the same page of {what} for skip={skip - select} and "
                f"skip={skip}; stopping instead of looping"
            )
        full = len(rows) >= select  # a short (or empty) page is the last one
        yield ItemsPage(rows, skip + select if full else None)
        if not full:
            return
        previous = rows
        skip += select


def v2_paged(
    fetch: FetchV2Page, convert: Callable[[Any], U], *, select: int, what: str, skip: int = 0
) -> Paged[U, int]:
    check_skip(skip)
    return Paged(v2_pages(fetch, select=select, what=what, skip=skip), convert)


def next_marker(body: Mapping[str, Any]) -> str | None:
    links = field(dict(body), "_links")
    following = field(links, "next") if isinstance(links, dict) else None
    marker = field(following, "marker") if isinstance(following, dict) else None
    return marker if isinstance(marker, str) and marker else None


def v3_pages(
    fetch: FetchV3Page, *, what: str, marker: str | None = None
) -> Iterator[ItemsPage[Any, str]]:
    """The pages of a v3 collection from the first, or from `marker` (a page's `resume`)."""
    seen: set[str] = {marker} if marker else set()
    while True:
        body = fetch(marker)
        items = field(dict(body), "_items")
        if not isinstance(items, list):
            raise ApiError(f"Dotdigital returned a page of {what} without _items", status=200)
        following = next_marker(body) if items else None
        if following is not None and following in seen:
            raise PagingLoopError(
                f"Dotdigital returned the paging marker {following!r} for {what} twice; "
                "stopping instead of looping"
            )
        yield ItemsPage(items, following)
        if following is None:
            return
        seen.add(following)
        marker = following


def v3_paged(
    fetch: FetchV3Page, convert: Callable[[Any], U], *, what: str, marker: str | None = None
) -> Paged[U, str]:
    if marker is not None and not marker:
        raise ValueError("a v3 marker is a non-empty string")
    return Paged(v3_pages(fetch, what=what, marker=marker), convert)
