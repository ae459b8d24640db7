"""Which address book a pushed marketing list goes to: the linked one, else an existing book
of the list's name that no other list has, else a new private one (named after the list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.clients.dataverse.lists import MarketingList
from shared.clients.dotdigital.address_books import AddressBook
from shared.errors import ApiError
from shared.sync.marketing_lists.links_repo import ListLink, list_links

if TYPE_CHECKING:
    from shared.sync.marketing_lists.list_push import PushSession

RESERVED_BOOK_NAMES = ("test", "all contacts")  # the platform's own books
MAX_BOOK_NAME = 128
ORIGIN = "Dynamics"


def book_name_for(mlist: MarketingList) -> str:
    name = " ".join(mlist.name.split()) or f"Marketing list {mlist.list_id}"
    if name.casefold() in RESERVED_BOOK_NAMES:
        name = f"{name} (Dynamics)"
    return name[:MAX_BOOK_NAME]


def link_book(
    s: PushSession, mlist: MarketingList, forget_snapshot: Callable[[], object]
) -> AddressBook:
    """The list's book, its link saved. A new book means the old snapshot says nothing about
    it: `forget_snapshot` is called before the link names the new book."""
    link = s.links.get(mlist.list_id)
    book = s.books().get(link.address_book_id) if link else None
    if book is None:
        book = _book_named(s, mlist, book_name_for(mlist))
        forget_snapshot()
    updated = ListLink(
        list_id=mlist.list_id,
        list_name=mlist.name,
        member_type=mlist.member_type.logical_name,
        address_book_id=book.id,
        address_book_name=book.name,
        origin=link.origin if link else ORIGIN,
        linked_utc=(
            link.linked_utc
            if link and link.address_book_id == book.id and link.linked_utc
            else s.services.clock()
        ),
    )
    if updated != link:
        list_links(s.services).save(s.account_id, updated)
        s.links[mlist.list_id] = updated
    return book


def _book_named(s: PushSession, mlist: MarketingList, name: str) -> AddressBook:
    taken = {link.address_book_id for link in s.links.values() if link.list_id != mlist.list_id}
    for candidate in (name, f"{name[: MAX_BOOK_NAME - 11]} ({mlist.list_id[:8]})"):
        existing = _find_book(s, candidate)
        if existing is not None and existing.id not in taken:
            return existing
        if existing is not None:
            continue  # another list's book: never share one
        try:
            book = s.platform.create_address_book(candidate, visibility="Private")
        except ApiError as error:
            if error.code != "ERROR_ADDRESSBOOK_DUPLICATE":
                raise
            existing = _find_book(s, candidate, refresh=True)
            if existing is None or existing.id in taken:
                continue
            return existing
        s.books()[book.id] = book
        return book
    raise ApiError(
        f"Dotdigital has address books named '{name}' linked to other marketing lists",
        status=400,
        code="ERROR_ADDRESSBOOK_DUPLICATE",
    )


def _find_book(s: PushSession, name: str, *, refresh: bool = False) -> AddressBook | None:
    wanted = name.casefold()
    return next((b for b in s.books(refresh=refresh).values() if b.name.casefold() == wanted), None)
