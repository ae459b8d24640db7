"""Incremental reads with change tracking (PAD `use-change-tracking-synchronize-data-external-
systems.md`).

- First run (no delta link): `GET <set>?$select=...` with `Prefer: odata.track-changes` reads
  every row; the last page carries `@odata.deltaLink`.
- Later runs GET that delta link: only rows created or changed since, then rows deleted since,
  inline as `{"@odata.context": "...#<set>/$deletedEntity", "id": ..., "reason": "deleted"}`;
  the last page carries the next delta link.
- A delta link the service refuses (expired after `ExpireChangeTrackingInDays`, 30 by default)
  or that cannot be used (another environment or table, other columns) falls back to a full
  read, and `ChangeFeed.full_resync_reason` says why in words fit for the audit.

The Web API error body for an expired token is not documented. The SDK reports
`ExpiredVersionStamp` (0x80044352, -2147204270, "Version stamp associated with the client has
expired. Please perform a full sync."); Microsoft's Web API samples compare
`error.code == "0x80044352"`. Detection accepts that code in hex or decimal, or a message that
speaks of an expired version stamp / token / full sync, and any other 400/410/422 answer to a
delta link also falls back (with the service's message as the reason): a full read is always
correct, and a full read that fails for the same cause reports that cause.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from shared.clients.dataverse.odata import (
    check_name,
    max_page_size_preference,
    select_option,
)
from shared.clients.dataverse.paging import (
    Page,
    Record,
    collection_target,
    fetch_page,
    iter_collection,
)
from shared.clients.dataverse.transport import DataverseTransport
from shared.errors import ApiError

TRACK_CHANGES = "odata.track-changes"
EXPIRED_VERSION_STAMP_CODES = frozenset({"0x80044352", "-2147204270"})
EXPIRED_REASON = "Change tracking token expired; read all records again"
_REFUSAL_STATUSES = frozenset({400, 410, 422})


@dataclass(frozen=True)
class ChangePage:
    """Rows created or changed (current values) and ids of rows deleted, for one page."""

    number: int
    upserts: list[Record]
    deleted_ids: list[str]


def token_expired(error: ApiError) -> bool:
    """Does this refusal of a delta link say the change tracking token expired?"""
    if error.code and error.code.strip().lower() in EXPIRED_VERSION_STAMP_CODES:
        return True
    text = getattr(error, "service_message", str(error)).lower()
    return "expired" in text and any(
        word in text
        for word in ("version stamp", "versionstamp", "token", "delta", "change tracking", "sync")
    )


def is_deleted_entry(item: Record) -> bool:
    context = item.get("@odata.context")
    if isinstance(context, str) and context.rstrip("/").endswith("$deletedEntity"):
        return True
    return item.get("reason") == "deleted" and "id" in item and "@odata.etag" not in item


def split_changes(page: Page) -> ChangePage:
    upserts: list[Record] = []
    deleted: list[str] = []
    for item in page.records:
        if is_deleted_entry(item):
            deleted.append(str(item["id"]).lower())
        else:
            upserts.append(item)
    return ChangePage(number=page.number, upserts=upserts, deleted_ids=deleted)


class ChangeFeed:
    """The pages of one change read. Iterate it once; then `delta_link` is the link to store
    for the next run (only once every page has been read)."""

    def __init__(
        self,
        entity_set: str,
        pages: Iterator[Page],
        *,
        is_full_read: bool,
        full_resync_reason: str | None,
    ) -> None:
        self.entity_set = entity_set
        self.is_full_read = is_full_read
        self.full_resync_reason = full_resync_reason
        self._pages = pages
        self._delta_link: str | None = None
        self._started = False
        self._exhausted = False

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    @property
    def delta_link(self) -> str:
        if not self._exhausted or self._delta_link is None:
            raise RuntimeError("the delta link is known only after every page has been read")
        return self._delta_link

    def __iter__(self) -> Iterator[ChangePage]:
        if self._started:
            raise RuntimeError("a ChangeFeed can be iterated once")
        self._started = True
        last: Page | None = None
        for page in self._pages:
            last = page
            yield split_changes(page)
        if last is None or last.delta_link is None:
            raise ApiError(
                f"Dataverse ended the change read of {self.entity_set} without an @odata.deltaLink",
                status=200,
            )
        self._delta_link = last.delta_link
        self._exhausted = True


def link_problem(
    transport: DataverseTransport, delta_link: str, entity_set: str, select: Sequence[str]
) -> str | None:
    """Why this stored delta link cannot serve this read (None if it can)."""
    invalid = f"Change tracking token is not valid for {entity_set}; read all records again"
    try:
        transport.url(delta_link)
    except ApiError:
        return invalid
    parts = urlsplit(delta_link)
    if not delta_link.startswith(("http://", "https://")) or not parts.path.endswith(
        "/" + entity_set
    ):
        return invalid
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not options.get("$deltatoken"):
        return invalid
    linked = {name.strip() for name in options.get("$select", "").split(",") if name.strip()}
    if linked != set(select):
        return f"The columns read from {entity_set} changed; read all records again"
    return None


def read_changes(
    transport: DataverseTransport,
    entity_set: str,
    select: Sequence[str],
    delta_link: str | None,
    *,
    page_size: int,
) -> ChangeFeed:
    check_name(entity_set, "entity set")
    select_option(select)  # validates the names
    size = max_page_size_preference(page_size)
    reason: str | None = None
    if delta_link:
        reason = link_problem(transport, delta_link, entity_set, select)
        if reason is None:
            try:
                first = fetch_page(
                    transport,
                    delta_link,
                    label=f"{entity_set} changes",
                    number=1,
                    headers={"Prefer": size},
                )
            except ApiError as error:
                if error.status not in _REFUSAL_STATUSES:
                    raise
                said = getattr(error, "service_message", str(error))
                reason = (
                    EXPIRED_REASON
                    if token_expired(error)
                    else f"Change tracking token was refused by Dataverse (HTTP {error.status}: "
                    f"{said}); read all records again"
                )
            else:
                pages = iter_collection(
                    transport,
                    delta_link,
                    label=f"{entity_set} changes",
                    preferences=[size],
                    first=first,
                )
                return ChangeFeed(entity_set, pages, is_full_read=False, full_resync_reason=None)

    target = collection_target(entity_set, select)
    preferences = [TRACK_CHANGES, size]
    first = fetch_page(
        transport,
        target,
        label=entity_set,
        number=1,
        headers={"Prefer": ",".join(preferences)},
    )
    applied = first.headers.get("preference-applied", "")
    if TRACK_CHANGES not in applied.lower():
        raise ApiError(
            f"Change tracking is not enabled for {entity_set} in Dataverse (the service did not "
            f"apply {TRACK_CHANGES}); enable Track changes on the table",
            status=200,
        )
    pages = iter_collection(
        transport, target, label=entity_set, preferences=preferences, first=first
    )
    return ChangeFeed(entity_set, pages, is_full_read=True, full_resync_reason=reason)
