"""Counting every HTTP request the clients send, by API and route, with httpx event hooks.

The hooks sit on the `httpx.Client`s the product clients are built with, so every attempt is
counted: retries, token requests, msal's own metadata request, status polls. Routes are the
path with ids replaced (`/api/data/v9.2/contacts({id})`, `/v2/address-books/{id}/contacts`,
`/{tenant}/oauth2/v2.0/token`); the query string is left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

ENTRA_ID = "Entra ID"
DATAVERSE = "Dataverse"
DOTDIGITAL = "Dotdigital"
APIS = (ENTRA_ID, DATAVERSE, DOTDIGITAL)

IMPORT_ROUTE = "PUT /contacts/v3/import"

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER_SEGMENT = re.compile(r"/\d+(?=/|$)")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def route_of(api: str, method: str, path: str) -> str:
    """`METHOD template` for a request path (ids replaced, no query string)."""
    if api == ENTRA_ID:
        template = _GUID.sub("{tenant}", path, count=1)
    else:
        template = _NUMBER_SEGMENT.sub("/{id}", _GUID.sub("{id}", path))
    return f"{method} {template}"


@dataclass
class CallLog:
    """Requests sent (by API, route) and answers that were not a success, for one run."""

    dataverse_url: str
    dotdigital_urls: tuple[str, ...]
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    import_body_bytes: list[int] = field(default_factory=list)
    sent_bytes: Counter[tuple[str, str]] = field(default_factory=Counter)  # request bodies

    def api_of(self, url: httpx.URL) -> str:
        origin = (url.scheme, url.netloc.decode().lower())
        if origin == _origin(self.dataverse_url):
            return DATAVERSE if url.path.startswith("/api/data/") else ENTRA_ID
        if origin in {_origin(u) for u in self.dotdigital_urls}:
            return DOTDIGITAL
        return f"other ({url.host})"

    def on_request(self, request: httpx.Request) -> None:
        api = self.api_of(request.url)
        route = route_of(api, request.method, request.url.path)
        self.calls[api, route] += 1
        self.sent_bytes[api, route] += len(request.content)
        if api == DOTDIGITAL and route == IMPORT_ROUTE:
            self.import_body_bytes.append(len(request.content))

    def on_response(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            request = response.request
            api = self.api_of(request.url)
            route = route_of(api, request.method, request.url.path)
            self.refused[api, route, response.status_code] += 1

    def event_hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    # Reading the log ------------------------------------------------------------------------

    def count(self, api: str, route: str | None = None) -> int:
        return sum(n for (a, r), n in self.calls.items() if a == api and route in (None, r))

    def total(self) -> int:
        return sum(self.calls.values())

    def bytes_sent(self, api: str, route: str | None = None) -> int:
        return sum(n for (a, r), n in self.sent_bytes.items() if a == api and route in (None, r))

    def by_route(self) -> dict[str, int]:
        """`<API> <METHOD> <route>` -> count, in API order then by route."""
        order = {api: index for index, api in enumerate(APIS)}
        keys = sorted(self.calls, key=lambda key: (order.get(key[0], len(APIS)), key[1]))
        return {f"{api} {route}": self.calls[api, route] for api, route in keys}
