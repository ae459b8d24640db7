"""One page of a form's responses: what to write (decided from two `$batch` reads) and the
writes (one `$batch`, more past 1,000 requests).

The reads: the page's response rows already in Dynamics (by their deterministic ids) and the
contacts and leads with the responses' emails. A response whose row is there with the same
completion (flag and date) and as many answers is unchanged and not written again: a response
re-read (the clock-skew margin, a form listed again) is neither rewritten nor counted twice,
while one that was completed or answered more since is. A response with no contact or lead
keeps its email, unlinked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.audit import Counts
from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.paging import collection_target
from shared.clients.dotdigital.surveys import SurveyResponse
from shared.clients.dotdigital.wire import parse_datetime
from shared.dynamics_schema.engagement import FORM_RESPONSE
from shared.sync.email_lookup import EmailQuery, find_by_email, groups
from shared.sync.forms.rows import FormRows, response_id

IDS_PER_QUERY = 50  # response ids in one GET's `or` filter (a URL near 3 KB)
RESPONSE_KEY = FORM_RESPONSE.primary_id


@dataclass
class Write:
    response: SurveyResponse
    requests: list[BatchRequest]
    new: bool


@dataclass
class PageDecision:
    writes: list[Write] = field(default_factory=list)
    failures: list[tuple[SurveyResponse, str]] = field(default_factory=list)  # lookups failed

    def counts(self, read: int) -> tuple[Counts, int]:
        """The page's counts as decided (responses read, new, updated, failed) and answers."""
        new = sum(w.new for w in self.writes)
        counts = Counts(read=read, created=new, updated=len(self.writes) - new,
                        failed=len(self.failures))  # fmt: skip
        return counts, sum(len(w.requests) - 1 for w in self.writes)


@dataclass
class PageOutcome:
    """What did not happen of the decided writes: responses failed (with why) and the
    answers they took with them."""

    failed: list[tuple[Write, str]] = field(default_factory=list)
    answers_lost: int = 0


def decide(
    dataverse: DataverseClient,
    rows: FormRows,
    responses: Sequence[SurveyResponse],
    email_columns: tuple[str, str],
) -> PageDecision:
    stored = _stored(dataverse, rows, responses)
    emails = sorted({r.email.strip().lower() for r in responses if r.email.strip()})
    contact_column, lead_column = email_columns
    contacts, leads = find_by_email(
        dataverse,
        [EmailQuery("contacts", "contactid", contact_column),
         EmailQuery("leads", "leadid", lead_column)],
        emails,
    )  # fmt: skip
    decision = PageDecision()
    for item in responses:
        key = response_id(rows.account_id, rows.survey_id, item.id)
        email = item.email.strip().lower()
        problem = stored.failed.get(key) or contacts.failed.get(email) or leads.failed.get(email)
        if problem:
            decision.failures.append((item, problem))
            continue
        before = stored.rows.get(key)
        if before == (item.complete, item.completed, len(item.answers)):
            continue  # written by an earlier run as it is now
        contact = min(contacts.ids(email, "contactid"), default=None)
        lead = min(leads.ids(email, "leadid"), default=None)
        decision.writes.append(Write(item, rows.response(item, contact, lead), before is None))
    return decision


def write(dataverse: DataverseClient, decision: PageDecision) -> PageOutcome:
    outcome = PageOutcome()
    requests = [request for w in decision.writes for request in w.requests]
    if not requests:
        return outcome
    results = iter(dataverse.execute_batch(requests).results)
    for item in decision.writes:
        answered = [next(results) for _ in item.requests]
        failed = next((r for r in answered if not r.ok), None)
        if failed is not None:
            outcome.failed.append((item, failed.why))
            outcome.answers_lost += len(item.requests) - 1
    return outcome


@dataclass
class _Stored:
    rows: dict[str, tuple[bool, datetime | None, int | None]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _stored(
    dataverse: DataverseClient, rows: FormRows, responses: Sequence[SurveyResponse]
) -> _Stored:
    """The page's response rows in Dynamics: id -> (complete, completed on, answers)."""
    keys = [response_id(rows.account_id, rows.survey_id, r.id) for r in responses]
    found = _Stored()
    batches = list(groups(keys, IDS_PER_QUERY))
    if not batches:
        return found
    columns = [RESPONSE_KEY, "dms_complete", "dms_completedon", "dms_answercount"]
    requests = [
        BatchRequest.get(
            collection_target(
                FORM_RESPONSE.entity_set,
                columns,
                filter=" or ".join(f"{RESPONSE_KEY} eq {uuid.UUID(k)}" for k in group),
            )
        )
        for group in batches
    ]
    for group, result in zip(batches, dataverse.execute_batch(requests).results, strict=True):
        if not result.ok:
            found.failed.update(dict.fromkeys(group, result.why))
            continue
        for row in dataverse.batch_rows(result, FORM_RESPONSE.entity_set):
            completed = parse_datetime(row.get("dms_completedon"))
            answers = row.get("dms_answercount")
            found.rows[str(row[RESPONSE_KEY]).lower()] = (
                bool(row.get("dms_complete")),
                completed,
                answers if isinstance(answers, int) else None,
            )
    return found
