"""v2 `GET /v2/campaigns/{campaignId}/address-books`: the address books a campaign has ever been
sent to (documented: "Gets any lists that a campaign has ever been sent to"), from the sandbox's
recorded sends, and `sends_to`, how many times a campaign went to a book (what a test asserts
to show a send happened exactly once; the real API has no such count).

A send counts once it was made (Sending or Sent); a Scheduled one has not been sent yet. Books
deleted since are left out (the API renders books, and a deleted one has none to render).
Errors: 404 `Error: ERROR_CAMPAIGN_NOT_FOUND`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital import render
from sandbox.dotdigital.api_address_books import path_int
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.wire import json_response, select_skip, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

CAMPAIGN_ADDRESS_BOOKS = "/v2/campaigns/{campaignId}/address-books"
CAMPAIGN_NOT_FOUND = "Error: ERROR_CAMPAIGN_NOT_FOUND"
MADE = ("Sending", "Sent")


def books_sent_to(state: DotdigitalState, campaign_id: int) -> list[int]:
    """The books the campaign was sent to, in the order of their first send."""
    with state.lock:
        seen: dict[int, None] = {}
        for send in state.sends:
            if send.campaign_id == campaign_id and send.status in MADE:
                seen.update(dict.fromkeys(send.address_book_ids))
        return list(seen)


def sends_to(state: DotdigitalState, campaign_id: int, book_id: int) -> int:
    """How many sends of the campaign named this book."""
    with state.lock:
        return sum(
            1 for s in state.sends if s.campaign_id == campaign_id and book_id in s.address_book_ids
        )


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    async def campaign_books(request: Request) -> Response:
        select, skip = select_skip(request)
        with state.lock:
            campaign_id = path_int(request, "campaignId")
            if campaign_id is None or campaign_id not in state.campaigns:
                return v2_error(404, CAMPAIGN_NOT_FOUND)
            books = [
                state.store.books[book_id]
                for book_id in books_sent_to(state, campaign_id)
                if book_id in state.store.books
            ]
            page = books[skip : skip + select]
            return json_response([render.address_book(book) for book in page])

    return [Route(CAMPAIGN_ADDRESS_BOOKS, endpoint(campaign_books), methods=["GET"])]
