"""Writes a page of behaviour rows: finds each row's person by email (contact, else lead, else
account; one `$batch` of filtered GETs for the page), then upserts the rows by their
deterministic ids in `$batch` (1,000 to a request). A row whose person is not in Dynamics keeps
its email and no lookup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path
from shared.mappings.model import DataMapping, MappedEntity
from shared.sync.campaigns.rows import Body
from shared.sync.email_lookup import EmailQuery, find_by_email
from shared.sync.marketing_lists.values import email_field

# Who a row is about, in the order a match wins: (entity, entity set, the row's lookup column).
TARGETS = (
    (MappedEntity.CONTACT, "contacts", "dms_contactid"),
    (MappedEntity.LEAD, "leads", "dms_leadid"),
    (MappedEntity.ACCOUNT, "accounts", "dms_accountid"),
)
MAX_ERROR = 300


@dataclass
class PageOutcome:
    written: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, each naming its row


class BehaviourWriter:
    def __init__(self, dataverse: DataverseClient, mappings: Sequence[DataMapping]) -> None:
        self.dataverse = dataverse
        self.queries = [
            EmailQuery(entity_set, f"{entity.value}id", email_field(mappings, entity))
            for entity, entity_set, _column in TARGETS
        ]

    def targets(self, emails: Sequence[str]) -> dict[str, tuple[str, str]]:
        """email -> (lookup column, bound path) of the person it names. An email whose lookup
        failed is left out: its row is written with the email alone, as for nobody found."""
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        found = find_by_email(self.dataverse, self.queries, wanted)
        bound: dict[str, tuple[str, str]] = {}
        for (_entity, entity_set, column), answer, query in zip(
            TARGETS, found, self.queries, strict=True
        ):
            for email in wanted:
                ids = answer.ids(email, query.key)
                if ids and email not in bound:
                    bound[email] = (column, f"/{entity_path(entity_set, ids[0])}")
        return bound

    def write(self, entity_set: str, rows: Sequence[tuple[str, Body]]) -> PageOutcome:
        """Upsert the rows (id, body) of one table, each bound to its person."""
        outcome = PageOutcome()
        if not rows:
            return outcome
        bound = self.targets([str(body.get("dms_email") or "") for _, body in rows])
        requests = []
        for key, body in rows:
            email = str(body.get("dms_email") or "").strip().lower()
            target = bound.get(email)
            data = dict(body)
            if target is not None:
                data[f"{target[0]}@odata.bind"] = target[1]
            requests.append(BatchRequest.upsert(entity_set, key, data))
        result = self.dataverse.execute_batch(requests)
        for request, answer in zip(requests, result.results, strict=True):
            if answer.ok:
                outcome.written += 1
                continue
            outcome.failed += 1
            if len(outcome.errors) < 3:
                outcome.errors.append(f"{request.url}: {answer.why}"[:MAX_ERROR])
        return outcome
