"""Profiles and custom resources: `/profileAndServices/profile` (out-of-the-box fields),
`/profileAndServicesExt/<resource>` (extended profile, `cus`-prefixed custom resources).

Reads page with `_lineCount` and follow `next.href` (opaque; only within the base URL),
always with `_forcePagination=true`, since above `XtkBigTableThreshold` (100,000 rows) a
collection otherwise stops after its first page without saying so. Records are named by the
href the API gave (PKeys are never built or stored); writes answer `{PKey, href}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from shared.clients.adobe.errors import RecordNotFound
from shared.clients.adobe.models import Profile, ResourcePage, Written, technical_names
from shared.clients.adobe.transport import AdobeTransport, QueryValue, json_body
from shared.errors import ApiError

PROFILES = "profileAndServices"
EXTENDED = "profileAndServicesExt"
MAX_LINE_COUNT = 1000
_RESOURCE = re.compile(r"^(profile|cus[A-Za-z0-9_]+)$")
_FILTER = re.compile(r"^by[A-Z][A-Za-z0-9_]*$")


def resource_path(resource: str, *, extended: bool = True) -> str:
    """`profileAndServicesExt/<resource>` (or the out-of-the-box root for the profile)."""
    if not _RESOURCE.match(resource):
        raise ValueError(f"{resource!r} is neither 'profile' nor a cus-prefixed custom resource")
    if not extended and resource != "profile":
        raise ValueError("custom resources live under profileAndServicesExt")
    return f"{EXTENDED if extended else PROFILES}/{resource}"


def _page(body: Any, operation: str) -> ResourcePage:
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise ApiError(f"Adobe Campaign {operation} answered without a content list", status=200)
    nxt, count = body.get("next"), body.get("count")
    return ResourcePage(
        items=[item for item in body["content"] if isinstance(item, dict)],
        next_href=str(nxt["href"]) if isinstance(nxt, dict) and nxt.get("href") else None,
        count_href=str(count["href"]) if isinstance(count, dict) and count.get("href") else None,
        server_side_pagination=bool(body.get("serverSidePagination")),
    )


class ResourcesApi(AdobeTransport):
    def read_page(
        self,
        resource: str,
        *,
        line_count: int = 100,
        filter_name: str | None = None,
        filter_params: Mapping[str, QueryValue] | None = None,
        start: str | None = None,
        force_pagination: bool = True,
        extended: bool = True,
    ) -> ResourcePage:
        """One page of `resource` (optionally through a `by<Filter>`); `start`: a page's
        `next_href` to read from instead (resuming a run); `extended=False`: the profile's
        out-of-the-box root, there before any extension is published."""
        if not 1 <= line_count <= MAX_LINE_COUNT:
            raise ValueError(f"line_count must be 1..{MAX_LINE_COUNT}")
        if start is not None:
            return _page(json_body(self._call("GET", self.check_href(start)), "GET next"), "GET")
        path = resource_path(resource, extended=extended)
        if filter_name is not None:
            if not _FILTER.match(filter_name):
                raise ValueError(f"{filter_name!r} is not a filter name (by<Name>)")
            path += f"/{filter_name}"
        params: dict[str, QueryValue | None] = dict(filter_params or {})
        params["_lineCount"] = line_count
        params["_forcePagination"] = True if force_pagination else None
        answer = self._call("GET", self.url(path), params=params)
        return _page(json_body(answer, f"GET {path}"), f"GET {path}")

    def pages(
        self, resource: str, *, line_count: int = 100, start: str | None = None, **kwargs: Any
    ) -> Iterator[ResourcePage]:
        """Every page, lazily, following `next.href`; a repeated href is the API looping."""
        seen: set[str] = set()
        page = self.read_page(resource, line_count=line_count, start=start, **kwargs)
        while True:
            yield page
            if page.next_href is None:
                return
            if page.next_href in seen:
                raise ApiError(
                    f"Adobe Campaign handed back a page link twice for {resource}", status=200
                )
            seen.add(page.next_href)
            page = self.read_page(resource, line_count=line_count, start=page.next_href)

    def records(self, resource: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.pages(resource, **kwargs):
            yield from page.items

    def count(self, count_href: str) -> int:
        """What a page's `count.href` counts."""
        body = json_body(self._call("GET", self.check_href(count_href)), "GET _count")
        if not isinstance(body, dict) or not isinstance(body.get("count"), int):
            raise ApiError("Adobe Campaign answered a count without a number", status=200)
        return int(body["count"])

    def find(
        self, resource: str, filter_name: str, params: Mapping[str, QueryValue], *, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The records a filter selects (e.g. `byEmail` with email, a custom key's filter)."""
        page = self.read_page(
            resource, line_count=limit, filter_name=filter_name, filter_params=params
        )
        return page.items

    def profiles_by_email(self, email: str) -> list[Profile]:
        found = self.find("profile", "byEmail", {"email": email})
        return [Profile.model_validate(item) for item in found]

    def get_by_key(self, resource: str, key: str) -> dict[str, Any] | None:
        """A record by its resource's custom key (`/<resource>/<key value>`), None if none."""
        if not key or "/" in key or key.startswith(("@", "by", "_")):
            raise ValueError(f"{key!r} cannot name a record by its custom key")
        try:
            body = json_body(self._call("GET", self.url(f"{resource_path(resource)}/{key}")), "GET")
        except RecordNotFound:
            return None
        return body if isinstance(body, dict) else None

    def get(self, href: str) -> dict[str, Any]:
        body = json_body(self._call("GET", self.check_href(href)), "GET")
        if not isinstance(body, dict):
            raise ApiError("Adobe Campaign answered a record that is not an object", status=200)
        return body

    def create(self, resource: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new record; answers it with its defaults, PKey and href. Not repeated after a
        lost answer (OutcomeUnknown): a second POST could make a second record."""
        path = resource_path(resource)
        answer = self._call(
            "POST", self.url(path), json=technical_names(dict(values)), idempotent=False
        )
        body = json_body(answer, f"POST {path}")
        if not isinstance(body, dict) or not body.get("href"):
            raise ApiError(f"Adobe Campaign POST {path} answered without the record", status=200)
        return body

    def update(self, href: str, values: Mapping[str, Any]) -> Written:
        """PATCH the record at `href` (the same values twice leave it the same: retried)."""
        answer = self._call("PATCH", self.check_href(href), json=technical_names(dict(values)))
        return Written.model_validate(json_body(answer, "PATCH"))

    def delete(self, href: str) -> bool:
        """DELETE the record at `href`; False when it was gone already."""
        try:
            self._call("DELETE", self.check_href(href))
        except RecordNotFound:
            return False
        return True
