"""Dry runs: the sync's reads and decisions run for real, its writes are recorded, not sent.

Every write a sync type makes goes through one sink per target system: the Dataverse client,
the platform client and the connector's own tables, all reached through `Run.services`. In a
dry run the runner hands the type a `DryRunServices` view whose sinks record each write (a
count per action and a few sample records) and answer as the service would on success, so the
type's code runs unchanged. Reads pass through. The runner writes what was recorded as audit
details ("Would ...") and moves no watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditStatus, Counts
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.dataverse.batch import BatchOutcome, BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dotdigital.address_books import AddressBook
from shared.clients.dotdigital.campaigns import CampaignSend
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.data_fields import DataField
from shared.clients.dotdigital.imports import ContactReference, ImportContact, ImportResult
from shared.clients.dotdigital.programs import ProgramEnrolment
from shared.clients.dotdigital.suppression_writes import (
    ResubscribeResult,
    ResubscribeStatus,
    SuppressOutcome,
)
from shared.engine.dry_run_adobe import adobe_sink
from shared.runtime import R, Runtime
from shared.storage.audit_repo import AuditRepository
from shared.storage.crm_fields_repo import CrmFieldRepository
from shared.storage.data_labels_repo import DataLabelRepository
from shared.storage.mappings_repo import MappingRepository
from shared.storage.schedules_repo import ScheduleRepository
from shared.storage.sync_state_repo import SyncStateRepository
from shared.storage.tables import Tables

SAMPLES = 5  # records named per action in the audit details
MAX_SAMPLE = 120  # characters per sample
T = TypeVar("T")


@dataclass
class Recorded:
    system: str
    action: str
    count: int = 0
    samples: list[str] = field(default_factory=list)


class WriteRecorder:
    """What a dry run would have written, per (system, action), in first-seen order."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Recorded] = {}

    @classmethod
    def load(cls, saved: Any) -> WriteRecorder:
        """From `dump()`, kept in the checkpoint so a dry run over several slices adds up."""
        recorder = cls()
        for row in saved if isinstance(saved, list) else []:
            entry = Recorded(str(row["system"]), str(row["action"]), int(row["count"]),
                             [str(s) for s in row["samples"]])  # fmt: skip
            recorder._entries[(entry.system, entry.action)] = entry
        return recorder

    def dump(self) -> list[dict[str, Any]]:
        return [vars(entry) for entry in self._entries.values()]

    def record(self, system: str, action: str, items: Iterable[str]) -> int:
        entry = self._entries.setdefault((system, action), Recorded(system, action))
        n = 0
        for item in items:
            n += 1
            if len(entry.samples) < SAMPLES:
                entry.samples.append(item[:MAX_SAMPLE])
        entry.count += n
        return n

    @property
    def entries(self) -> list[Recorded]:
        return list(self._entries.values())

    def details(self) -> list[AuditDetail]:
        return [
            AuditDetail(
                item=f"Would {e.action} ({e.system})"[:200],
                status=AuditStatus.COMPLETED,
                message=f"{e.count:,} in all"
                + (f"; e.g. {', '.join(e.samples)}" if e.samples else ""),
                counts=Counts(read=e.count),
            )
            for e in self.entries
        ]

    def summary(self) -> str:
        if not self._entries:
            return "nothing to write"
        return "; ".join(f"{e.system}: {e.action} x{e.count:,}" for e in self.entries)


class _Sink:
    """A stand-in for one target system: reads delegate, the listed writes are recorded."""

    def __init__(self, target: object, writes: dict[str, Callable[..., Any]]) -> None:
        self._target = target
        self._writes = writes

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the target's class: `Run.platform` checks it
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        if name in self._writes:
            return self._writes[name]
        return getattr(self._target, name)


def _describe(request: BatchRequest) -> str:
    return f"{request.method} {request.url.split('?')[0]}"


def dataverse_sink(client: DataverseClient, recorder: WriteRecorder) -> DataverseClient:
    system = "Dynamics"
    # Records this dry run "created": reads under them answer empty, as they would right
    # after a real create (the service itself would answer 404: they do not exist).
    created: set[str] = set()

    def _new(url: str) -> bool:
        path = url.lstrip("/").split("?")[0]
        return any(path == c or path.startswith(f"{c}/") for c in created)

    def execute_batch(requests: Sequence[BatchRequest], **options: Any) -> BatchOutcome:
        requests = list(requests)
        reads = [r for r in requests if r.method.upper() == "GET" and not _new(r.url)]
        answered = iter(client.execute_batch(reads, **options).results if reads else [])
        results: list[BatchResult] = []
        for index, request in enumerate(requests):
            if request.method.upper() == "GET" and _new(request.url):
                results.append(BatchResult(index=index, request=request, status=200,
                                           body={"value": []}))  # fmt: skip
            elif request.method.upper() == "GET":
                real = next(answered)
                results.append(BatchResult(index=index, request=request, status=real.status,
                                           headers=real.headers, body=real.body,
                                           error_code=real.error_code,
                                           error_message=real.error_message))  # fmt: skip
            else:
                recorder.record(system, _describe(request).split("(")[0], [_describe(request)])
                results.append(BatchResult(index=index, request=request, status=204))
        return BatchOutcome(results=results, http_requests=1 if reads else 0)

    def upsert(entity_set: str, key: Any, data: dict[str, Any], **_: Any) -> None:
        recorder.record(system, f"upsert {entity_set}", [f"{entity_set}({key})"])
        created.add(f"{entity_set}({key})")

    def create(entity_set: str, data: dict[str, Any], **_: Any) -> None:
        recorder.record(system, f"create {entity_set}", [entity_set])

    def update(entity_set: str, key: Any, data: dict[str, Any], **_: Any) -> None:
        recorder.record(system, f"update {entity_set}", [f"{entity_set}({key})"])

    def delete(entity_set: str, key: Any, **_: Any) -> None:
        recorder.record(system, f"delete {entity_set}", [f"{entity_set}({key})"])

    sink = _Sink(client, {"execute_batch": execute_batch, "upsert": upsert, "create": create,
                          "update": update, "delete": delete})  # fmt: skip
    return cast(DataverseClient, sink)


def dotdigital_sink(client: DotdigitalClient, recorder: WriteRecorder) -> DotdigitalClient:
    system = "Dotdigital"
    new_ids = count(-1, -1)  # books the dry run "created": negative ids no real book has

    def create_address_book(name: str, *, visibility: str = "Private") -> AddressBook:
        recorder.record(system, "create address book", [name])
        return AddressBook(id=next(new_ids), name=name, visibility=visibility)

    def create_data_field(name: str, type: str, **_: Any) -> DataField:
        recorder.record(system, "create data field", [name])
        return DataField(name=name, type=type, visibility=_.get("visibility", "Private"),
                         default_value=_.get("default_value"))  # fmt: skip

    imports: dict[str, ImportResult] = {}  # what the dry run "imported", by its import id

    def submit_contact_imports(contacts: Iterable[ImportContact], **_: Any) -> list[str]:
        ids = count(-1, -1)
        refs = [
            ContactReference(contact_id=next(ids), identifiers={"email": contact.email or ""})
            for contact in contacts
        ]
        if not refs:
            return []
        recorder.record(system, "import contacts", (r.identifiers["email"] for r in refs))
        import_id = f"dry-run-{len(imports) + 1}"
        imports[import_id] = ImportResult(
            import_id=import_id, status="Finished", updated=tuple(refs)
        )
        return [import_id]

    def contact_import_status(import_id: str, **_: Any) -> ImportResult:
        # An id from an earlier slice of the dry run: nothing to report (its members count
        # as not sent), never a real call with an id Dotdigital never gave.
        return imports.get(import_id) or ImportResult(import_id=import_id, status="Finished")

    def remove_contacts_from_address_book(
        book_id: int, contact_ids: Iterable[int], **_: Any
    ) -> list[Any]:
        recorder.record(system, "remove contacts from address books",
                        (f"contact {c} from book {book_id}" for c in contact_ids))  # fmt: skip
        return []

    def iter_contacts(*args: Any, **kwargs: Any) -> Iterator[Any]:
        if (kwargs.get("list_id") or 0) < 0:  # a book only this dry run "created": empty
            return iter(())
        return cast(Iterator[Any], client.iter_contacts(*args, **kwargs))

    def suppress_contacts(emails: Sequence[str]) -> SuppressOutcome:
        recorder.record(system, "suppress contacts", emails)
        return SuppressOutcome(suppressed=tuple(emails), not_found=())

    def resubscribe(email: str, **_: Any) -> ResubscribeResult:
        recorder.record(system, "resubscribe contacts", [email])
        return ResubscribeResult(status=ResubscribeStatus.CHALLENGED, contact=None)

    def enrol_in_program(program_id: int, *, contact_ids: Sequence[int] = (),
                         **_: Any) -> ProgramEnrolment:  # fmt: skip
        recorder.record(system, "enrol contacts in programs",
                        (f"contact {c} in program {program_id}" for c in contact_ids))  # fmt: skip
        return ProgramEnrolment(id="dry-run", program_id=program_id, status="Processing",
                                contacts=tuple(contact_ids))  # fmt: skip

    def set_contact_preferences(contact_id: int, choices: Sequence[Any]) -> None:
        recorder.record(system, "set contact preferences",
                        [f"contact {contact_id}: {len(choices)} preference(s)"])  # fmt: skip

    def send_campaign(campaign_id: int, *, address_book_ids: Sequence[int] = (),
                      **_: Any) -> CampaignSend:  # fmt: skip
        books = ", ".join(map(str, address_book_ids)) or "no address book"
        recorder.record(system, "send campaigns", [f"campaign {campaign_id} to {books}"])
        return CampaignSend(id=f"dry-run-{campaign_id}", campaign_id=campaign_id,
                            status="Sending", address_book_ids=tuple(address_book_ids))  # fmt: skip

    sink = _Sink(client, {
        "send_campaign": send_campaign,
        "suppress_contacts": suppress_contacts,
        "resubscribe": resubscribe,
        "unsubscribe": lambda email: recorder.record(system, "unsubscribe contacts", [email]),
        "set_contact_preferences": set_contact_preferences,
        "enrol_in_program": enrol_in_program,
        "create_address_book": create_address_book,
        "create_data_field": create_data_field,
        "submit_contact_imports": submit_contact_imports,
        "contact_import_status": contact_import_status,
        "wait_for_contact_import": contact_import_status,
        "remove_contacts_from_address_book": remove_contacts_from_address_book,
        "iter_contacts": iter_contacts,
    })  # fmt: skip
    return cast(DotdigitalClient, sink)


def _rows(args: tuple[Any, ...]) -> int:
    """How many rows a repository write names: its last argument, one or many."""
    if not args:
        return 1
    last = args[-1]
    if isinstance(last, str | bytes | dict | BaseModel) or not isinstance(last, Iterable):
        return 1
    return sum(1 for _ in last)


def store_sink(repository: T, recorder: WriteRecorder, table: str, writes: Sequence[str]) -> T:
    """A repository of the connector's own tables whose write methods only record."""

    def recorder_for(method: str) -> Callable[..., Any]:
        def write(*args: Any, **_: Any) -> int:
            rows = _rows(args)
            recorder.record("connector tables", f"{method} {table}", [f"{rows} row(s)"])
            return rows

        return write

    return cast(T, _Sink(repository, {method: recorder_for(method) for method in writes}))


class DryRunServices(Runtime):
    """The live runtime with its write sinks swapped for recording ones; reads are shared."""

    def __init__(self, live: Runtime, recorder: WriteRecorder) -> None:
        super().__init__(live.settings, clock=live.clock, queue=live._queue, retry=live._retry)
        self.live = live
        self.recorder = recorder
        self._dataverse_sink: DataverseClient | None = None
        self._platform_sink: object | None = None
        self.registry = live.registry

    # Shared, read-mostly pieces of the live runtime (no second connection pool).
    @property
    def tables(self) -> Tables:
        return self.live.tables

    @property
    def schedules(self) -> ScheduleRepository:
        return self.live.schedules

    @property
    def audit(self) -> AuditRepository:
        return self.live.audit

    @property
    def state(self) -> SyncStateRepository:
        return store_sink(self.live.state, self.recorder, "SyncState", ["set_value"])

    @property
    def mappings(self) -> MappingRepository:
        return self.live.mappings

    @property
    def crm_fields(self) -> CrmFieldRepository:
        return store_sink(self.live.crm_fields, self.recorder, "CrmFields", ["upsert", "delete"])

    @property
    def data_labels(self) -> DataLabelRepository:
        return store_sink(
            self.live.data_labels, self.recorder, "EmailDataLabels", ["save", "delete"]
        )

    def repository(self, kind: type[R]) -> R:
        """A capability's own repository: its declared writes recorded, its reads live."""
        return store_sink(self.live.repository(kind), self.recorder, kind.TABLE, kind.WRITES)

    def dataverse(self) -> DataverseClient:
        # One sink per slice: what it "created" must be known to every later read.
        if self._dataverse_sink is None:
            self._dataverse_sink = dataverse_sink(self.live.dataverse(), self.recorder)
        return self._dataverse_sink

    def platform_client(self, account: EmailAccount) -> object:
        if self._platform_sink is None:
            client = self.live.platform_client(account)
            if isinstance(client, DotdigitalClient):
                client = dotdigital_sink(client, self.recorder)
            elif isinstance(client, AdobeCampaignClient):
                client = adobe_sink(client, self.recorder, _Sink)
            self._platform_sink = client
        return self._platform_sink
