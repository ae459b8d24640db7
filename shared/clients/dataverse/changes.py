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

A change read can stop after any page: `ChangePage.resume` (a `ChangePosition`: the nextLink and
whether this is a full read) continues it later from the next page, and the last page carries
the delta link for the next run instead. A continuation the service refuses also falls back to
a full read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from shared.clients.dataverse.odata import (
    FORMATTED_VALUES,
    check_name,
    max_page_size_preference,
    select_option,
)
from shared.clients.dataverse.paging import (
    LinkPosition,
    Page,
    Record,
    check_position,
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


class ChangePosition(LinkPosition):
    """Where a change read continues: the next page's link, and whether the read is a full one
    (then every row not seen is gone) and why."""

    full_read: bool
    full_resync_reason: str | None = None


@dataclass(frozen=True)
class ChangePage:
    """Rows created or changed (current values) and ids of rows deleted, for one page."""

    number: int
    upserts: list[Record]
    deleted_ids: list[str]
    # The position just after this page; None on the last page, which has `delta_link`.
    resume: ChangePosition | None = None
    delta_link: str | None = None


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


def split_changes(page: Page, resume: ChangePosition | None = None) -> ChangePage:
    upserts: list[Record] = []
    deleted: list[str] = []
    for item in page.records:
        if is_deleted_entry(item):
            deleted.append(str(item["id"]).lower())
        else:
            upserts.append(item)
    return ChangePage(
        number=page.number,
        upserts=upserts,
        deleted_ids=deleted,
        resume=resume,
        delta_link=page.delta_link if resume is None else None,
    )


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
            resume = None
            if page.next_link is not None:
                resume = ChangePosition(
                    next_link=page.next_link,
                    page=page.number + 1,
                    full_read=self.is_full_read,
                    full_resync_reason=self.full_resync_reason,
                )
            elif page.delta_link is None:
                break  # the error below, before the caller takes this page as the last one
            yield split_changes(page, resume)
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


def refusal_reason(error: ApiError) -> str:
    """Why a full read follows a refused delta link or continuation, for the audit."""
    if token_expired(error):
        return EXPIRED_REASON
    said = getattr(error, "service_message", str(error))
    return (
        f"Change tracking token was refused by Dataverse (HTTP {error.status}: {said}); "
        "read all records again"
    )


def _continue(
    transport: DataverseTransport,
    entity_set: str,
    target: str,
    link: str,
    *,
    number: int,
    preferences: list[str],
    resume: LinkPosition | None,
) -> Iterator[Page] | str:
    """The pages from `link` on, or why the service refused it (a full read is needed)."""
    label = f"{entity_set} changes"
    try:
        first = fetch_page(
            transport, link, label=label, number=number, headers={"Prefer": ",".join(preferences)}
        )
    except ApiError as error:
        if error.status not in _REFUSAL_STATUSES:
            raise
        return refusal_reason(error)
    return iter_collection(
        transport, target, label=label, preferences=preferences, first=first, resume=resume
    )


def read_changes(
    transport: DataverseTransport,
    entity_set: str,
    select: Sequence[str],
    delta_link: str | None,
    *,
    page_size: int,
    resume: ChangePosition | None = None,
    formatted_values: bool = False,
) -> ChangeFeed:
    """The changes since `delta_link` (None: a full read), or the rest of a change read from
    `resume` (a page's saved position; `delta_link` is then not used). `formatted_values`:
    each page also carries the choices' labels (`...@OData.Community.Display.V1.FormattedValue`)
    and the lookups' tables (`...@Microsoft.Dynamics.CRM.lookuplogicalname`), asked on every
    page's request (the service does not carry preferences in its links)."""
    check_name(entity_set, "entity set")
    select_option(select)  # validates the names
    size = max_page_size_preference(page_size)
    if formatted_values:
        size = f"{size},{FORMATTED_VALUES}"
    target = collection_target(entity_set, select)
    reason: str | None = None
    if resume is not None:
        check_position(resume, target, label=entity_set)
        preferences = [TRACK_CHANGES, size] if resume.full_read else [size]
        pages = _continue(
            transport,
            entity_set,
            target,
            resume.next_link,
            number=resume.page,
            preferences=preferences,
            resume=resume,
        )
        if not isinstance(pages, str):
            return ChangeFeed(
                entity_set,
                pages,
                is_full_read=resume.full_read,
                full_resync_reason=resume.full_resync_reason,
            )
        reason = pages
    elif delta_link:
        reason = link_problem(transport, delta_link, entity_set, select)
        if reason is None:
            pages = _continue(
                transport, entity_set, delta_link, delta_link, number=1, preferences=[size],
                resume=None,
            )  # fmt: skip
            if not isinstance(pages, str):
                return ChangeFeed(entity_set, pages, is_full_read=False, full_resync_reason=None)
            reason = pages

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
