"""The reads behind an engagement timeline: one newest-first stream per kind of interaction
(a table and its date column), counted on its first page, and the names of the campaigns,
forms and questions the shown interactions point at, fetched for those rows only."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import literal
from shared.clients.dataverse.paging import Page
from shared.dynamics_schema.engagement import (
    EMAIL_CLICK,
    EMAIL_SEND_SUMMARY,
    FORM_ANSWER,
    FORM_QUESTION,
    FORM_RESPONSE,
    TARGETS,
    WEB_PAGE_VIEW,
)
from shared.dynamics_schema.model import TableDefinition

Record = dict[str, Any]
COUNT_LIMIT = 5000  # Dataverse's `@odata.count` stops here: a count of 5,000 means "at least"
IDS_PER_QUERY = 25  # ids per `or` filter when fetching names: keeps each URL short


class EventKind(StrEnum):
    SENT = "sent"
    OPENED = "opened"
    CLICKED = "clicked"
    PAGE_VIEW = "page_view"
    FORM_RESPONSE = "form_response"


@dataclass(frozen=True)
class Source:
    """Where interactions of one kind are read: a table, the column that dates them, and a
    condition a row must meet (besides being the person's and dated)."""

    kind: EventKind
    table: TableDefinition
    time_column: str
    columns: tuple[str, ...]
    condition: str = ""
    repeat: bool = False  # the last of several opens (a second event from a summary row)

    def select(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.table.primary_id, self.time_column, *self.columns)))


_SUMMARY = (
    "_dms_emailcampaignid_value", "dms_numopens", "dms_datefirstopened", "dms_datelastopened",
    "dms_unsubscribed", "dms_softbounced", "dms_hardbounced",
)  # fmt: skip
# Newest first within each kind; an email opened several times shows its first and last open.
SOURCES = (
    Source(EventKind.SENT, EMAIL_SEND_SUMMARY, "dms_datesent", _SUMMARY),
    Source(EventKind.OPENED, EMAIL_SEND_SUMMARY, "dms_datefirstopened", _SUMMARY),
    Source(
        EventKind.OPENED,
        EMAIL_SEND_SUMMARY,
        "dms_datelastopened",
        _SUMMARY,
        condition="dms_numopens gt 1",
        repeat=True,
    ),
    Source(
        EventKind.CLICKED, EMAIL_CLICK, "dms_clickedon", ("dms_url", "_dms_emailcampaignid_value")
    ),
    Source(
        EventKind.PAGE_VIEW,
        WEB_PAGE_VIEW,
        "dms_viewedon",
        ("dms_url", "_dms_emailcampaignid_value", "dms_durationseconds", "dms_source"),
    ),
    # A response is dated when it was completed, an unfinished one when it was started.
    Source(
        EventKind.FORM_RESPONSE,
        FORM_RESPONSE,
        "dms_completedon",
        ("_dms_formid_value", "dms_complete", "dms_startedon"),
    ),
    Source(
        EventKind.FORM_RESPONSE,
        FORM_RESPONSE,
        "dms_startedon",
        ("_dms_formid_value", "dms_complete", "dms_completedon"),
        condition="dms_completedon eq null",
    ),
)


def odata_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Draft:
    """An interaction found, before its names are looked up."""

    when: datetime
    source: Source
    row: Record = field(compare=False)

    @property
    def row_id(self) -> str:
        return str(self.row[self.source.table.primary_id])


@dataclass(frozen=True)
class Scope:
    """Whose rows, in which account, in which time range."""

    account_id: str
    person_lookup: str  # `dms_contactid` or `dms_leadid`
    person_id: str
    email: str | None
    since: datetime | None
    until: datetime | None

    def filter(self, source: Source) -> str:
        table, column = source.table, source.time_column
        lookups = [c.read_name for c in TARGETS if _has(table, c.logical_name)]
        mine = f"_{self.person_lookup}_value eq {self.person_id}"
        if self.email:  # rows kept by email alone, written before the person was in Dynamics
            unlinked = " and ".join(f"{name} eq null" for name in lookups)
            # (every behaviour table keeps the email: a form response as its primary name)
            mine = f"({mine} or (dms_email eq {literal(self.email)} and {unlinked}))"
        clauses = [f"dms_emailaccountid eq {literal(self.account_id)}", mine, f"{column} ne null"]
        if self.since:
            clauses.append(f"{column} ge {odata_time(self.since)}")
        if self.until:
            clauses.append(f"{column} lt {odata_time(self.until)}")
        if source.condition:
            clauses.append(source.condition)
        return " and ".join(clauses)


def _has(table: TableDefinition, logical_name: str) -> bool:
    try:
        table.column(logical_name)
    except KeyError:
        return False
    return True


class Stream:
    """One source's rows for the scope, newest first: the first page is read at once (with its
    count); later pages only when the merge reaches them."""

    def __init__(
        self, dataverse: DataverseClient, source: Source, scope: Scope, page_size: int
    ) -> None:
        self.dataverse, self.source, self.scope = dataverse, source, scope
        table = source.table
        self._pages = iter(
            dataverse.iter_pages(
                table.entity_set,
                source.select(),
                filter=scope.filter(source),
                page_size=page_size,
                order_by=f"{source.time_column} desc,{table.primary_id} desc",
                count=True,
            )
        )
        first: Page | None = next(self._pages, None)
        self._first = first.records if first else []
        self.complete = first is None or first.next_link is None
        reported = first.count if first else 0
        self.count = len(self._first) if reported is None else reported

    def drafts(self) -> Iterator[Draft]:
        yield from self._draft(self._first)
        if not self.complete:
            for page in self._pages:
                yield from self._draft(page.records)

    def _draft(self, rows: Iterable[Record]) -> Iterator[Draft]:
        for row in rows:
            when = parse_time(row.get(self.source.time_column))
            if when is not None:
                yield Draft(when, self.source, row)

    def earliest(self) -> Draft | None:
        """The stream's oldest row: the end of the first page when that was all, else one row
        read oldest first."""
        if self.complete:
            return next(reversed(list(self._draft(self._first))), None)
        table = self.source.table
        pages = self.dataverse.iter_pages(
            table.entity_set,
            self.source.select(),
            filter=self.scope.filter(self.source),
            page_size=1,
            order_by=f"{self.source.time_column} asc,{table.primary_id} asc",
        )
        page = next(iter(pages), None)
        return next(self._draft(page.records), None) if page else None


def newest(streams: Sequence[Stream], limit: int) -> list[Draft]:
    """The newest `limit` interactions of all streams (each is newest first), reading no page
    the cut does not need."""
    merged = heapq.merge(*(s.drafts() for s in streams), key=lambda d: d.when, reverse=True)
    return list(itertools.islice(merged, limit))


def _rows_by_id(
    dataverse: DataverseClient, table: TableDefinition, ids: Iterable[str], columns: Sequence[str]
) -> Iterator[Record]:
    wanted = sorted({i for i in ids if i})
    for start in range(0, len(wanted), IDS_PER_QUERY):
        where = " or ".join(
            f"{table.primary_id} eq {i}" for i in wanted[start : start + IDS_PER_QUERY]
        )
        yield from dataverse.iter_records(
            table.entity_set, (table.primary_id, *columns), filter=where
        )


def names(dataverse: DataverseClient, table: TableDefinition, ids: Iterable[str]) -> dict[str, str]:
    """id -> primary name of the given rows of `table` (a few `or` queries)."""
    column = table.primary_name.logical_name
    rows = _rows_by_id(dataverse, table, ids, (column,))
    return {str(row[table.primary_id]): str(row.get(column) or "") for row in rows}


@dataclass(frozen=True)
class Answer:
    question: str
    value: str


def answers(dataverse: DataverseClient, response_ids: Iterable[str]) -> dict[str, list[Answer]]:
    """response id -> its answers in question order (for the shown responses only)."""
    wanted = sorted(set(response_ids))
    rows: list[Record] = []
    select = ("_dms_formresponseid_value", "_dms_formquestionid_value", "dms_name", "dms_value")
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        where = " or ".join(f"_dms_formresponseid_value eq {i}" for i in chunk)
        rows.extend(dataverse.iter_records(FORM_ANSWER.entity_set, select, filter=where))
    question_ids = (str(r.get("_dms_formquestionid_value") or "") for r in rows)
    questions = {
        str(q[FORM_QUESTION.primary_id]): (q.get("dms_order") or 0, str(q.get("dms_text") or ""))
        for q in _rows_by_id(dataverse, FORM_QUESTION, question_ids, ("dms_text", "dms_order"))
    }
    found: dict[str, list[tuple[int, str, Answer]]] = {}
    for row in rows:
        order, text = questions.get(str(row.get("_dms_formquestionid_value") or ""), (0, ""))
        value = row.get("dms_value")
        answer = Answer(text or str(row.get("dms_name") or ""), str(value) if value else "")
        found.setdefault(str(row["_dms_formresponseid_value"]), []).append(
            (int(order), answer.question, answer)
        )
    return {
        response: [a for _, _, a in sorted(items, key=lambda item: item[:2])]
        for response, items in found.items()
    }
