"""Writes one journal batch of email events to Dynamics: finds the events' contacts (one
`$batch` of filtered GETs, 50 contactids to a filter), then creates each event's activity and
its follow-up task in one `$batch` of create-only upserts (`PATCH` by the deterministic id with
`If-None-Match: *`). A row that exists already answers 412 and is counted as there already, not
written again: a replayed event changes nothing, not even a task someone has since edited.
A 412 met by a resent `$batch` is counted as written (see `write_events`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import check_guid, entity_path
from shared.clients.dataverse.paging import collection_target
from shared.storage.adobe_config_model import EgressSettings
from shared.sync.adobe.egress import rows
from shared.sync.adobe.egress.events import EmailEvent, Kind

CONTACTS = "contacts"
IDS_PER_QUERY = 50  # keeps each GET's URL near 3 KB
PRECONDITION_FAILED = 412


@dataclass
class Problem:
    event: EmailEvent
    why: str


@dataclass
class BatchOutcome:
    written: Counter[str] = field(default_factory=Counter)  # kind -> activities created
    already: int = 0  # activities there before (the event was read before)
    tasks: int = 0  # follow-up tasks created
    skipped: list[Problem] = field(default_factory=list)  # no contact in Dynamics
    failed: list[Problem] = field(default_factory=list)  # Dynamics refused a write


def _contact_id(event: EmailEvent) -> str | None:
    try:
        return check_guid(event.external_id).lower()
    except ValueError:
        return None


def contacts_found(
    dataverse: DataverseClient, contact_ids: Sequence[str]
) -> tuple[set[str], dict[str, str]]:
    """Which contactids exist; and those whose lookup failed (id -> why)."""
    wanted = sorted(set(contact_ids))
    groups = [wanted[i : i + IDS_PER_QUERY] for i in range(0, len(wanted), IDS_PER_QUERY)]
    requests = [
        BatchRequest.get(
            collection_target(
                CONTACTS, ["contactid"], filter=" or ".join(f"contactid eq {i}" for i in group)
            )
        )
        for group in groups
    ]
    found: set[str] = set()
    failed: dict[str, str] = {}
    if not requests:
        return found, failed
    for group, result in zip(groups, dataverse.execute_batch(requests).results, strict=True):
        if not result.ok:
            failed.update(dict.fromkeys(group, result.why))
            continue
        for row in dataverse.batch_rows(result, CONTACTS):
            found.add(str(row.get("contactid") or "").lower())
    return found, failed


def _create_only(entity_set: str, key: str, body: rows.Body) -> BatchRequest:
    return BatchRequest("PATCH", entity_path(entity_set, key), body, {"If-None-Match": "*"})


def write_events(
    dataverse: DataverseClient,
    account_id: str,
    events: Sequence[EmailEvent],
    settings: EgressSettings,
    *,
    ours: bool = False,
) -> BatchOutcome:
    """Write `events` (already filtered to the switched-on kinds). `ours`: the batch is being
    written again after a worker died during its writes, so a row that exists is this run's."""
    outcome = BatchOutcome()
    with_contact: list[tuple[EmailEvent, str]] = []
    for event in events:
        contact = _contact_id(event)
        if contact is None:
            why = (
                "its profile has no externalId"
                if not event.external_id
                else (f"its profile's externalId '{event.external_id[:60]}' is not a contactid")
            )
            outcome.skipped.append(Problem(event, why))
        else:
            with_contact.append((event, contact))
    found, lookup_failed = contacts_found(dataverse, [c for _e, c in with_contact])
    requests: list[BatchRequest] = []
    owners: list[tuple[EmailEvent, bool]] = []  # per request: its event, whether a task
    for event, contact in with_contact:
        if contact in lookup_failed:
            outcome.failed.append(
                Problem(event, f"contact lookup failed: {lookup_failed[contact]}")
            )
            continue
        if contact not in found:
            outcome.skipped.append(Problem(event, f"contact {contact} is not in Dynamics"))
            continue
        table = rows.TABLES[event.kind]
        requests.append(_create_only(table.entity_set, rows.activity_id(account_id, event.event_id),
                                     rows.activity_body(account_id, event, contact)))  # fmt: skip
        owners.append((event, False))
        task = None
        if event.kind is Kind.CLICK and settings.click_task:
            task = rows.click_task_body(event, contact, settings.click_task_due_days)
        elif event.kind is Kind.BOUNCE and settings.bounce_task:
            task = rows.bounce_task_body(event, contact)
        if task is not None:
            requests.append(_create_only("tasks", rows.task_id(account_id, event.event_id), task))
            owners.append((event, True))
    if not requests:
        return outcome
    results = dataverse.execute_batch(requests).results
    for (event, is_task), result in zip(owners, results, strict=True):
        refused = result.status == PRECONDITION_FAILED
        # A 412 after a resend of a batch whose answer was lost is most likely our own first
        # send's row: counted as written, as a run without the loss counts it.
        there = refused and not (result.resent or ours)
        if not result.ok and not refused:
            what = "task" if is_task else "activity"
            outcome.failed.append(Problem(event, f"{what}: {result.why}"))
        elif is_task:
            outcome.tasks += 0 if there else 1
        elif there:
            outcome.already += 1
        else:
            outcome.written[event.kind.value] += 1
    return outcome
