"""Adobe I/O Events Journaling API: how Campaign's email events are read (pull, in order).

Every event registration has one journaling endpoint (Developer Console: Events > the
registration > Event Delivery Method). `GET <endpoint>` answers the oldest events still kept
(7 days), `?latest=true` the end; each answer carries `Link: <...?since=<position>>;
rel="next"`, the position after its last event, which is followed as given (Adobe: "strongly
recommended" over building it) and saved as the reader's place. At the end of the journal the
answer is 204 with a `retry-after` and a `next` link equal to the request; a position whose
events expired is 410 Gone (`JournalExpired`). Calls carry the Campaign credential's token, its
client id as `x-api-key`, and the organization's IMS id as `x-ims-org-id`; the token only goes
to the registration's endpoint (a `next` link elsewhere is `ForeignHref`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from shared.clients.adobe.auth import ImsTokenProvider
from shared.clients.adobe.errors import ForeignHref, read_error
from shared.clients.retry import (
    RetryPolicy,
    TransientHttpError,
    server_requested_wait,
    status_description,
    unbound,
)
from shared.errors import ApiError, AuthenticationError
from shared.telemetry.http import platform

MAX_LIMIT = 1000  # our own cap on `limit` (Adobe names none): a batch stays one page of work


class JournalExpired(ApiError):
    """The saved journal position is older than the journal's 7 days (HTTP 410): the events
    after it are gone. The reader starts again at the oldest events still kept."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=410, code="JOURNAL_EXPIRED")


@dataclass(frozen=True)
class JournalEvent:
    position: str
    event: dict[str, Any]


@dataclass(frozen=True)
class JournalBatch:
    """One answer: its events (none at the end of the journal), the `next` link to read from
    afterwards, and at the end how long Adobe asks to wait (`retry_after`, seconds)."""

    events: list[JournalEvent]
    next_href: str
    retry_after: float | None = None

    @property
    def at_end(self) -> bool:
        return not self.events


class EventJournalClient:
    def __init__(
        self,
        journal_url: str,
        ims_org_id: str,
        tokens: ImsTokenProvider,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
    ) -> None:
        self.journal_url = journal_url.rstrip("/")
        self._place = urlsplit(self.journal_url)
        self.ims_org_id = ims_org_id
        self.tokens = tokens
        self._http = http
        self._retry = retry

    def start_href(self, *, limit: int, latest: bool = False) -> str:
        """Where a reader with no saved place starts: the oldest events kept, or the end
        (`latest`); `limit` (an upper bound per answer) stays in every `next` link."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_LIMIT}")
        params: list[tuple[str, str]] = [("limit", str(limit))]
        if latest:
            params.append(("latest", "true"))
        return f"{self.journal_url}?{urlencode(params)}"

    def check_href(self, href: str) -> str:
        """`href` if it is this registration's endpoint (same scheme, host, port and path)."""
        try:
            target = urlsplit(href)
            same = (target.scheme, target.hostname, target.port, target.path.rstrip("/")) == (
                self._place.scheme,
                self._place.hostname,
                self._place.port,
                self._place.path.rstrip("/"),
            )
        except ValueError:
            same = False
        if not same:
            raise ForeignHref(
                f"Adobe I/O Events handed back a journal link outside the registration's "
                f"endpoint {self.journal_url}: {href[:200]}; it is not followed"
            )
        return href

    def read(self, href: str) -> JournalBatch:
        """One batch from `href` (a `start_href` or a saved `next` link)."""
        url = self.check_href(href)

        def send(token: str) -> httpx.Response:
            return self._http.get(
                url,
                headers={
                    "Authorization": f"Bearer {token}",
                    "x-api-key": self.tokens.client_id,
                    "x-ims-org-id": self.ims_org_id,
                    "Accept": "application/json",
                },
                extensions=platform("adobe"),
            )

        def attempt() -> httpx.Response:
            token = self.tokens.token()
            response = send(token)
            if response.status_code == 401:  # expired or revoked: one new token, once
                response = send(self.tokens.refresh(token))
            self._raise_for_status(response, url)
            return unbound(response)

        response = self._retry.run("Adobe I/O Events", "GET journal", attempt)
        return self._batch(response, url)

    def _raise_for_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        said = read_error(response).message
        if status == 410:
            raise JournalExpired(f"Adobe I/O Events journal: {said}")
        if status in (401, 403):
            raise AuthenticationError(
                f"Adobe I/O Events refused the credential of client id {self.tokens.client_id} "
                f"for organization {self.ims_org_id} (HTTP {status}): {said}. Check that the "
                "Developer Console project has the I/O Management API and this event "
                "registration, and the IMS organization id."
            )
        if status == 429 or status >= 500:
            wait = server_requested_wait(response.headers, now=self._retry.clock())
            raise TransientHttpError(
                f"{status_description(response)}: {said}", status=status, retry_after=wait
            )
        raise ApiError(
            f"Adobe I/O Events GET journal failed (HTTP {status}): {said}", status=status
        )

    def _batch(self, response: httpx.Response, url: str) -> JournalBatch:
        link = response.links.get("next", {}).get("url")
        if not link:
            raise ApiError(
                "Adobe I/O Events answered a journal batch without a next link", status=200
            )
        next_href = self.check_href(urljoin(url, link))
        if response.status_code == 204:
            wait = server_requested_wait(response.headers, now=self._retry.clock())
            return JournalBatch([], next_href, wait)
        try:
            body = response.json()
            events = [
                JournalEvent(str(item["position"]), dict(item["event"]))
                for item in body.get("events") or []
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ApiError(
                "Adobe I/O Events answered a journal batch that is not events", status=200
            ) from error
        return JournalBatch(events, next_href)
