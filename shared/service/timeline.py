"""The engagement timeline of one contact or lead (seed 002, "Viewing an entity's engagement
timeline"): the sends, opens, clicks, page views and form responses the sync types wrote to
Dynamics, in time order, with totals and the first and last interaction, for the CLI and the
admin API alike.

Reads are bounded whatever the person's history: each kind is read newest first, the kinds are
merged, and only the newest `limit` interactions are read and kept; the rest are counted
(Dataverse's `$count`) and reported as "and N earlier", with a `to` that shows them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.dynamics_schema.engagement import EMAIL_CAMPAIGN, FORM, PAGE_VIEW_SOURCES
from shared.errors import BadInputError, NotFoundError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.service import timeline_reads as reads
from shared.service.timeline_reads import Draft, EventKind, Scope, Stream

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_PAGE_VIEW_SOURCE = {option.value: option.label for option in PAGE_VIEW_SOURCES}
_TABLE = {"contact": ("contacts", "dms_contactid"), "lead": ("leads", "dms_leadid")}


class PersonNotFound(NotFoundError):
    pass


class KindFilter(StrEnum):
    """What the timeline shows: everything, the Emails option (sends and opens), or one kind."""

    ALL = "all"
    EMAILS = "emails"
    SENT = "sent"
    OPENED = "opened"
    CLICKED = "clicked"
    PAGE_VIEW = "page_view"
    FORM_RESPONSE = "form_response"


def kinds_of(filters: Iterable[KindFilter]) -> list[EventKind]:
    """The event kinds a filter selects (none given: all of them), in a fixed order."""
    wanted: set[EventKind] = set()
    for f in filters:
        if f is KindFilter.ALL:
            wanted.update(EventKind)
        elif f is KindFilter.EMAILS:
            wanted.update((EventKind.SENT, EventKind.OPENED))
        else:
            wanted.add(EventKind(f.value))
    return [k for k in EventKind if k in wanted] if wanted else list(EventKind)


class Person(BaseModel):
    kind: str = Field(description='"contact" or "lead"')
    id: str
    name: str
    email: str


class FormAnswer(BaseModel):
    question: str
    answer: str


class TimelineEvent(BaseModel):
    kind: EventKind
    when: datetime = Field(description="UTC")
    title: str
    detail: str = Field(description="One line of what happened (URL, open count, duration)")
    campaign: str | None = Field(default=None, description="The email campaign's name")
    form: str | None = Field(default=None, description="The form's name")
    url: str | None = None
    answers: list[FormAnswer] = Field(default_factory=list, description="A form's answers")
    table: str = Field(description="The Dynamics table of the record (logical name)")
    record_id: str


class Totals(BaseModel):
    """Interactions in the range, per kind; None for a kind the filter left out."""

    emails_sent: int | None = None
    emails_opened: int | None = Field(
        default=None, description="Emails opened (one however often it was opened)"
    )
    clicks: int | None = None
    page_views: int | None = None
    form_responses: int | None = None
    at_least: bool = Field(
        default=False, description="A count reached Dataverse's 5,000 limit: it is a minimum"
    )


class Timeline(BaseModel):
    account_id: str
    person: Person
    kinds: list[EventKind]
    since: datetime | None = Field(default=None, description="From (inclusive, UTC)")
    until: datetime | None = Field(default=None, description="To (exclusive, UTC)")
    totals: Totals
    first_interaction: TimelineEvent | None = None
    last_interaction: TimelineEvent | None = None
    events: list[TimelineEvent] = Field(description="Oldest first: the newest `limit` only")
    earlier: int = Field(
        default=0, description='Interactions older than the events shown ("and N earlier")'
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _person(rt: Runtime, kind: str, person_id: str) -> Person:
    entity_set, _ = _TABLE[kind]
    try:
        key = str(uuid.UUID(person_id.strip()))
    except ValueError:
        raise BadInputError(
            f"'{person_id}' is not a {kind} id: give the record's GUID, as in its URL in Dynamics "
            "(e.g. 8f2c3e1a-0b6d-4c55-9a1e-2f4b6c8d0e11)."
        ) from None
    row = rt.dataverse().retrieve(entity_set, key, ("fullname", "emailaddress1"))
    if row is None:
        raise PersonNotFound(
            f"No {kind} '{key}' in Dynamics: check the id (the record's GUID, as in its URL) "
            f"and that it is a {kind}, not a {'lead' if kind == 'contact' else 'contact'}."
        )
    email = str(row.get("emailaddress1") or "")
    return Person(kind=kind, id=key, name=str(row.get("fullname") or ""), email=email)


def engagement_timeline(
    rt: Runtime,
    account_id: str,
    *,
    contact_id: str | None = None,
    lead_id: str | None = None,
    kinds: Iterable[KindFilter] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Timeline:
    """One contact's or lead's interactions in the account, in time order (see the module)."""
    admin.require_account(rt, account_id)
    if (contact_id is None) == (lead_id is None):
        raise BadInputError("Name one contact or one lead (a contact id or a lead id, not both).")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInputError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}.")
    since, until = _utc(since), _utc(until)
    if since and until and since >= until:
        raise BadInputError(f"'from' ({since:%Y-%m-%d %H:%M}) must be before 'to' "
                            f"({until:%Y-%m-%d %H:%M}).")  # fmt: skip
    kind = "contact" if contact_id is not None else "lead"
    person = _person(rt, kind, contact_id or lead_id or "")
    selected = kinds_of(kinds)
    scope = Scope(account_id, _TABLE[kind][1], person.id, person.email.lower() or None,
                  since, until)  # fmt: skip
    dataverse = rt.dataverse()
    streams = [Stream(dataverse, source, scope, min(limit, reads.COUNT_LIMIT))
               for source in reads.SOURCES if source.kind in selected]  # fmt: skip
    shown = sorted(reads.newest(streams, limit), key=_order)
    total = sum(s.count for s in streams)
    first: Draft | None = shown[0] if shown else None
    if total > len(shown):  # the oldest is among the rows not read
        earliest = [d for d in (s.earliest() for s in streams if s.count) if d is not None]
        first = min(earliest, key=_order, default=first)
    last = shown[-1] if shown else None
    views = _Views(rt, [*shown, *(d for d in (first, last) if d is not None)])
    return Timeline(
        account_id=account_id,
        person=person,
        kinds=selected,
        since=since,
        until=until,
        totals=_totals(streams, selected),
        first_interaction=views.event(first) if first else None,
        last_interaction=views.event(last) if last else None,
        events=[views.event(d) for d in shown],
        earlier=max(total - len(shown), 0),
    )


def _order(draft: Draft) -> tuple[datetime, int, str]:
    # Same moment: sent before opened before clicked..., then by record, so output is stable.
    return draft.when, list(EventKind).index(draft.source.kind), draft.row_id


def _totals(streams: list[Stream], selected: list[EventKind]) -> Totals:
    def count(kind: EventKind) -> int | None:
        if kind not in selected:
            return None
        # An email's repeated open is an event on the timeline, not another email opened.
        return sum(s.count for s in streams if s.source.kind is kind and not s.source.repeat)

    return Totals(
        emails_sent=count(EventKind.SENT),
        emails_opened=count(EventKind.OPENED),
        clicks=count(EventKind.CLICKED),
        page_views=count(EventKind.PAGE_VIEW),
        form_responses=count(EventKind.FORM_RESPONSE),
        at_least=any(s.count >= reads.COUNT_LIMIT for s in streams),
    )


class _Views:
    """Turns drafts into events, with the names of their campaigns and forms and the answers
    of their form responses, each looked up once for all of them."""

    def __init__(self, rt: Runtime, drafts: list[Draft]) -> None:
        dataverse = rt.dataverse()
        self.campaigns = reads.names(
            dataverse, EMAIL_CAMPAIGN, (_ref(d, "dms_emailcampaignid") for d in drafts)
        )
        forms = [d for d in drafts if d.source.kind is EventKind.FORM_RESPONSE]
        self.forms = reads.names(dataverse, FORM, (_ref(d, "dms_formid") for d in forms))
        self.answers = reads.answers(dataverse, (d.row_id for d in forms))

    def event(self, draft: Draft) -> TimelineEvent:
        row, kind = draft.row, draft.source.kind
        campaign = self.campaigns.get(_ref(draft, "dms_emailcampaignid")) or None
        named = f": {campaign}" if campaign else ""
        url: str | None = None
        form: str | None = None
        answers: list[FormAnswer] = []
        if kind is EventKind.SENT:
            title = f"Email sent{named}"
            flags = [label for column, label in (("dms_hardbounced", "hard bounced"),
                     ("dms_softbounced", "soft bounced"), ("dms_unsubscribed", "unsubscribed"))
                     if row.get(column)]  # fmt: skip
            detail = ", ".join(flags).capitalize()
        elif kind is EventKind.OPENED:
            title = f"Email opened{named}"
            detail = _opens(draft)
        elif kind is EventKind.CLICKED:
            title = f"Link clicked{named}"
            url = detail = str(row.get("dms_url") or "")
        elif kind is EventKind.PAGE_VIEW:
            source = _PAGE_VIEW_SOURCE.get(row.get("dms_source") or 0, "web")
            title = f"Page viewed{named}" if campaign else f"Page viewed ({source})"
            url = str(row.get("dms_url") or "")
            seconds = row.get("dms_durationseconds")
            detail = url + (f" ({seconds} s)" if isinstance(seconds, int) else "")
        else:
            form = self.forms.get(_ref(draft, "dms_formid")) or None
            title = f"Form {'answered' if row.get('dms_complete') else 'started'}: {form or '?'}"
            found = self.answers.get(draft.row_id, [])
            answers = [FormAnswer(question=a.question, answer=a.value) for a in found]
            detail = f"{len(found)} answer{'s' if len(found) != 1 else ''}"
        return TimelineEvent(
            kind=kind, when=draft.when, title=title, detail=detail, campaign=campaign, form=form,
            url=url, answers=answers, table=draft.source.table.logical_name,
            record_id=draft.row_id,
        )  # fmt: skip


def _opens(draft: Draft) -> str:
    opens = int(draft.row.get("dms_numopens") or 1)
    last = reads.parse_time(draft.row.get("dms_datelastopened"))
    if draft.source.repeat:
        return f"Last of {opens} opens"
    if opens > 1 and last:
        return f"First of {opens} opens (last {last:%Y-%m-%d %H:%M} UTC)"
    return "Opened once" if opens == 1 else f"{opens} opens"


def _ref(draft: Draft, lookup: str) -> str:
    return str(draft.row.get(f"_{lookup}_value") or "")
