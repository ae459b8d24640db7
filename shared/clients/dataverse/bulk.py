"""Many-record writes of one table through CreateMultiple / UpdateMultiple / UpsertMultiple,
falling back to `$batch` on tables without these messages; bad records are isolated and skipped.

Facts (PAD = MicrosoftDocs/powerapps-docs developer/data-platform/, `bulk-operations.md` and
the Web API reference `upsertmultiple`):
- "To get the best performance when you run operations on multiple rows of a Microsoft
  Dataverse table, use one of the following bulk operation messages" (higher than `$batch`);
- `POST <set>/Microsoft.Dynamics.CRM.<message> {"Targets": [...]}`, every target with its
  `@odata.type`; CreateMultiple answers 200 `{"Ids": [...]}`, the others 204;
- standard tables: "All operations roll back on error", so one bad record fails its request;
- "Not all standard tables support these messages": `BULK_SETS` names the ones this connector
  writes that do (others go through `$batch`, per record);
- "1,000 records per request is a reasonable place to start if the size of the record data is
  small and there are no plug-ins ... include the ability to configure the number": `chunk_size`.

A failed request fails all its targets: it is split in halves and resent until the records
Dataverse refuses stand alone; those are skipped and reported with Dataverse's message. An
error answer means nothing was applied (one transaction), so every resend is safe. A 403 (a
missing privilege refuses every record alike) is raised instead; a table found without the
message (404 on the action segment) continues through `$batch`.

Lost answers: UpdateMultiple and UpsertMultiple are safe to resend. CreateMultiple is not,
unless every target carries its own primary id: a replay of a create that went through is then
refused as a duplicate key (reported per record with status 412, `BulkFailure.taken`), never a
second record. Without ids a lost answer raises `OutcomeUnknown`. Writes that need a per-record
ETag condition (`If-Match`) have no bulk form: send those through `execute_batch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.clients.dataverse.batch import BatchRequest, execute_batch
from shared.clients.dataverse.odata import Key, check_name, entity_path
from shared.clients.dataverse.transport import DataverseApiError, DataverseTransport, parse_json
from shared.clients.dataverse.writes import primary_key_of
from shared.errors import ApiError, PreconditionFailed

Message = Literal["CreateMultiple", "UpdateMultiple", "UpsertMultiple"]
BULK_SETS = frozenset({"contacts", "leads", "accounts", "lists"})
"""Entity sets whose table supports the bulk messages (standard tables; check others with the
documented `sdkmessagefilters` query before adding them)."""
DEFAULT_CHUNK_SIZE = 1000
LOGICAL_NAMES = {"contacts": "contact", "leads": "lead", "accounts": "account", "lists": "list"}


@dataclass(frozen=True)
class BulkFailure:
    """A record Dataverse refused on its own (the rest of its request was written)."""

    index: int  # position among the records given
    record: Mapping[str, Any]
    status: int | None
    code: str | None
    message: str

    @property
    def taken(self) -> bool:
        """A create refused because the id (or an alternate key) is already taken."""
        return self.status == 412


@dataclass
class BulkOutcome:
    ids: list[str | None]  # per record given, in order; None where it failed
    failures: list[BulkFailure] = field(default_factory=list)
    http_requests: int = 0
    via_batch: bool = False

    @property
    def succeeded(self) -> int:
        return len(self.ids) - len(self.failures)


@dataclass(frozen=True)
class _Target:
    index: int
    key: Key | None  # None: a create without an id of its own
    data: Mapping[str, Any]


def logical_name_of(entity_set: str) -> str:
    return LOGICAL_NAMES.get(entity_set) or entity_set.removesuffix("s")


def _body(entity_set: str, message: Message, target: _Target) -> dict[str, Any]:
    body: dict[str, Any] = dict(target.data)
    if isinstance(target.key, Mapping):
        body["@odata.id"] = entity_path(entity_set, target.key)
    elif target.key is not None:
        body[primary_key_of(entity_set)] = target.key
    body["@odata.type"] = f"Microsoft.Dynamics.CRM.{logical_name_of(entity_set)}"
    return body


def _refusal(error: ApiError | PreconditionFailed) -> tuple[int, str | None, str]:
    message = error.service_message if isinstance(error, DataverseApiError) else str(error)
    return error.status, error.code, message


def _message_missing(error: ApiError | PreconditionFailed, message: Message) -> bool:
    """The answer of a table without the message (unknown bound action: segment not found)."""
    return error.status == 404 and f"'Microsoft.Dynamics.CRM.{message}'" in str(error)


class BulkWriter:
    """One bulk write of one table: chunks, sends, halves failed chunks, collects failures."""

    def __init__(
        self,
        transport: DataverseTransport,
        entity_set: str,
        message: Message,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self.transport = transport
        self.entity_set = check_name(entity_set, "entity set")
        self.message = message
        self.chunk_size = chunk_size
        self.via_batch = False

    def run(self, targets: Sequence[_Target], *, via_batch: bool) -> BulkOutcome:
        outcome = BulkOutcome(ids=[None] * len(targets), via_batch=via_batch)
        self.via_batch = via_batch
        for start in range(0, len(targets), self.chunk_size):
            chunk = list(targets[start : start + self.chunk_size])
            if self.via_batch:
                self._batch(chunk, outcome)
            else:
                self._bulk(chunk, outcome)
        outcome.via_batch = self.via_batch
        outcome.failures.sort(key=lambda failure: failure.index)
        return outcome

    def _bulk(self, chunk: list[_Target], outcome: BulkOutcome) -> None:
        creating = self.message == "CreateMultiple"
        try:
            outcome.http_requests += 1
            response = self.transport.send(
                "POST",
                f"{self.entity_set}/Microsoft.Dynamics.CRM.{self.message}",
                operation=f"{self.message} {self.entity_set} ({len(chunk)} records)",
                json_body={"Targets": [_body(self.entity_set, self.message, t) for t in chunk]},
                # A create replayed with its own ids is refused as a duplicate: safe to resend.
                idempotent=not creating or all(t.key is not None for t in chunk),
            )
        except (DataverseApiError, PreconditionFailed) as error:
            if error.status == 403:
                raise  # a missing privilege refuses every record alike: halving cannot help
            if _message_missing(error, self.message):
                self.via_batch = True  # the table has no such message: $batch from here on
                self._batch(chunk, outcome)
                return
            if len(chunk) == 1:
                status, code, message = _refusal(error)
                target = chunk[0]
                outcome.failures.append(
                    BulkFailure(target.index, target.data, status, code, message)
                )
                return
            middle = len(chunk) // 2
            self._bulk(chunk[:middle], outcome)
            self._bulk(chunk[middle:], outcome)
            return
        if creating:
            ids = parse_json(response, self.message).get("Ids", [])
            for target, new_id in zip(chunk, ids, strict=False):
                outcome.ids[target.index] = str(new_id)
            return
        for target in chunk:
            outcome.ids[target.index] = target.key if isinstance(target.key, str) else None

    def _batch(self, chunk: list[_Target], outcome: BulkOutcome) -> None:
        requests = [self._request(target) for target in chunk]
        answer = execute_batch(self.transport, requests, continue_on_error=True)
        outcome.http_requests += answer.http_requests
        for target, result in zip(chunk, answer.results, strict=True):
            if result.ok:
                key = target.key if isinstance(target.key, str) else None
                outcome.ids[target.index] = result.entity_id or key
            else:
                outcome.failures.append(
                    BulkFailure(
                        target.index,
                        target.data,
                        result.status,
                        result.error_code,
                        result.error_message or "not executed",
                    )
                )

    def _request(self, target: _Target) -> BatchRequest:
        if self.message == "UpdateMultiple":
            assert target.key is not None
            return BatchRequest.update(self.entity_set, target.key, target.data)
        if self.message == "UpsertMultiple":
            assert target.key is not None
            return BatchRequest.upsert(self.entity_set, target.key, target.data)
        if target.key is None:
            return BatchRequest.create(self.entity_set, target.data)
        # Create only with our own id: a replay finds the id taken (412) instead of creating.
        return BatchRequest(
            "PATCH",
            entity_path(self.entity_set, target.key),
            target.data,
            headers={"If-None-Match": "*"},
        )


def write_multiple(
    transport: DataverseTransport,
    entity_set: str,
    message: Message,
    records: Sequence[tuple[Key | None, Mapping[str, Any]]],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    via_batch: bool | None = None,
) -> BulkOutcome:
    """Write (key, columns) pairs; `via_batch` None picks the bulk message where the table has
    it. Update and upsert need every key (an id or an alternate key)."""
    if message != "CreateMultiple" and any(key is None for key, _ in records):
        raise ValueError(f"{message} needs the key of every record")
    targets = [_Target(i, key, data) for i, (key, data) in enumerate(records)]
    if via_batch is None:
        via_batch = entity_set not in BULK_SETS
    return BulkWriter(transport, entity_set, message, chunk_size=chunk_size).run(
        targets, via_batch=via_batch
    )
