"""The initial transfer of a large Dynamics table to Campaign by file, one bounded part at a
time: read the table with change tracking from the recorded position, turn each record into a
Campaign row with the mapping's rules, build a part of the import file, upload it to the
account's file drop, and record the part with the position after it in Table Storage. After
the last part the file is completed under its name and the import workflow's signal started;
the delta link of the read is then handed back for the incremental phase.

`transfer()` is a generator: it yields after each recorded part (a checkpoint for the run), so
a sync type can `yield from` it and a run killed anywhere resumes from the Table rows on any
instance, uploading only the parts not recorded. A signal within Campaign's 10-minute lockout
raises `SignalLockedOut` (retriable) with the file complete: the next run only signals.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_set_of
from shared.clients.filedrop.manifest import Rejection
from shared.clients.filedrop.parts import PartEncoder
from shared.clients.filedrop.text_format import ImportFormat, Value
from shared.errors import ConfigurationError
from shared.storage.adobe_config_model import FieldMapping, TableMapping
from shared.storage.adobe_file_drop import FileDropSettings
from shared.sync.adobe.file_drop_target import DropTarget
from shared.sync.adobe.file_load_progress import (
    FileLoadProgress,
    LoadedPart,
    LoadState,
    LoadStatus,
)
from shared.sync.adobe.filters import FilterOutcome, decide
from shared.sync.adobe.linked_columns import (
    LinkedColumns,
    LinkedPage,
    metadata_cache,
    plan_linked,
    read_columns,
    read_linked,
    unread_message,
)
from shared.sync.adobe.picklists import CHOICE_TYPES, label_of
from shared.sync.adobe.record_values import Write, campaign_record
from shared.sync.adobe.values import moment_of

SIGNAL_SOURCE = "Dynamics Marketing Sync"
FILE_PARAMETER = "fileName"  # the signal's parameters, declared in the signal activity
ROWS_PARAMETER = "rows"
PAGE_SIZE = 5000  # records per Dataverse page: a part ends on a page boundary


@dataclass(frozen=True)
class FileLoadJob:
    """One table's transfer: the account, its mapping, the drop settings, the Dynamics
    table's entity set and primary key, and which of its columns are dates."""

    account_id: str
    mapping: TableMapping
    settings: FileDropSettings
    entity_set: str
    primary_key: str
    date_columns: frozenset[str] = frozenset()
    choice_columns: frozenset[str] = frozenset()
    page_size: int = PAGE_SIZE
    linked: LinkedColumns | None = None  # the fields through lookups, read page by page
    # Logical name -> Web API name of the columns read (a lookup reads as `_<name>_value`).
    read_columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> list[FieldMapping]:
        """Every mapped field, those through lookups included (read for each page)."""
        return list(self.mapping.fields)

    def key_of(self, record: Mapping[str, object]) -> str:
        return str(record.get(self.primary_key) or "").lower()

    @property
    def columns(self) -> list[str]:
        return [m.campaign_field for m in self.fields]

    @property
    def key_column(self) -> str:
        return self.mapping.campaign_key

    @property
    def select(self) -> list[str]:
        return sorted(set(self.read_columns.values()) | {self.primary_key})

    @property
    def format(self) -> ImportFormat:
        return ImportFormat(separator=self.settings.separator, gzip=self.settings.gzip)


@dataclass
class FileLoadOutcome:
    """A finished transfer: the file, its rows, the delta link for the incremental phase, and
    the records the file could not carry (their keys: send them over the API)."""

    remote_name: str
    rows: int
    parts: int
    delta_link: str
    rejected: list[Rejection]
    sent_parts: list[int] = field(default_factory=list)  # uploaded by this call
    notes: list[str] = field(default_factory=list)  # restarts and why


def plan_job(
    dataverse: DataverseClient, account_id: str, mapping: TableMapping, settings: FileDropSettings
) -> FileLoadJob:
    """The job for a mapped table, from the table's metadata (its primary key, which columns
    are dates and choices); a table without change tracking is refused."""
    table = mapping.dynamics_table
    info = dataverse.table_info(table)
    if info is None:
        raise ConfigurationError(f"Dynamics has no table '{table}'")
    if not info.change_tracking:
        raise ConfigurationError(
            f"Change tracking is not enabled for {table} in Dynamics: enable Track changes on "
            "the table (the transfer reads it with change tracking to continue by its delta link)"
        )
    types_of, targets_of = metadata_cache(dataverse)
    types = types_of(table)
    paths = [m.dynamics_field for m in mapping.fields if "." in m.dynamics_field]
    linked = plan_linked(dataverse, table, paths, types_of, targets_of) if paths else None
    return FileLoadJob(
        account_id=account_id,
        mapping=mapping,
        settings=settings,
        entity_set=info.entity_set or entity_set_of(table),
        primary_key=info.primary_id,
        date_columns=frozenset(n for n, t in types.items() if t == "DateTime")
        | (linked.dates if linked else frozenset()),
        choice_columns=frozenset(n for n, t in types.items() if t in CHOICE_TYPES)
        | (linked.choices if linked else frozenset()),
        linked=linked,
        read_columns=read_columns(mapping, types, info.primary_id),
    )


def campaign_row(
    job: FileLoadJob, record: Mapping[str, object], linked: LinkedPage | None = None
) -> dict[str, Value] | None:
    """The file's row for a Dynamics record (with its page's `linked` values), None when the
    filter leaves it out (an initial load has nothing in Campaign to delete)."""
    found: dict[str, object] = dict(record)
    for logical, web in job.read_columns.items():
        if web != logical:  # a lookup: its id under its logical name, lowercase as the API's
            value = record.get(web)
            found[logical] = str(value).lower() if value is not None else None
    if decide(job.mapping.filter, found) is not FilterOutcome.SYNC:
        return None
    names = [m.dynamics_field for m in job.fields]
    labels = {n: label for n in names if (label := label_of(record, n)) is not None}
    if linked is not None:
        key = job.key_of(record)
        found.update(linked.values.get(key, {}))
        labels.update(linked.labels.get(key, {}))
    values = campaign_record(job.mapping, found, labels, job.choice_columns, Write.LOAD)
    dynamics_of = {m.campaign_field: m.dynamics_field for m in job.fields}
    row: dict[str, Value] = {}
    for column, value in values.items():
        if dynamics_of[column] in job.date_columns and isinstance(value, str):
            row[column] = moment_of(value)  # the file's `YYYY/MM/DD HH:mm:SS`
        elif isinstance(value, str | int | float | bool) or value is None:
            row[column] = value
        else:
            row[column] = str(value)
    return row


def transfer(
    job: FileLoadJob,
    *,
    dataverse: DataverseClient,
    adobe: AdobeCampaignClient,
    progress: FileLoadProgress,
    target: DropTarget,
    now: Callable[[], datetime],
) -> Generator[None, None, FileLoadOutcome]:
    """Continue (or start) the transfer of `job`'s table; yields after each recorded part."""
    table = job.mapping.dynamics_table
    notes: list[str] = []
    sent: list[int] = []
    state = progress.load(job.account_id, table)
    why = _stale(job, target, state)
    if state is None or why:
        if why:
            notes.append(why)
        state = _begin(job, progress, target, now)

    while state.status is LoadStatus.UPLOADING and not state.read_done:
        feed = dataverse.read_changes(
            job.entity_set,
            job.select,
            None,
            page_size=job.page_size,
            resume=state.position,
            # The choices' labels, and the tables of Customer lookups the linked fields go through.
            formatted_values=bool(job.choice_columns) or job.linked is not None,
        )
        if state.position is not None and feed.full_resync_reason is not None:
            # The continuation was refused and this is a read from the start: so must be
            # the file. (The feed is dropped; the new transfer reads its own.)
            notes.append(f"{feed.full_resync_reason}; the file transfer started over")
            state = _begin(job, progress, target, now)
            continue
        encoder = PartEncoder(
            job.columns, key=job.key_column, format=job.format, header=state.parts == 0
        )
        after = state.position
        finished = False
        for page in feed:
            linked = None
            if job.linked is not None and page.upserts:  # one read per hop for the page
                linked = read_linked(dataverse, job.linked, page.upserts, job.key_of)
            for record in page.upserts:
                key = job.key_of(record)
                if linked is not None and (path := linked.unread.get(key)):
                    # Left out of the file: sent over the API after it, linked value read then.
                    column = next(m.campaign_field for m in job.fields if m.dynamics_field == path)
                    encoder.rejected.append(Rejection(key=key, column=column,
                                                      reason=unread_message(path)))  # fmt: skip
                    continue
                row = campaign_row(job, record, linked)
                if row is not None:
                    encoder.add(row)
            after = page.resume
            if after is not None and encoder.size >= job.settings.part_size:
                break
        else:
            finished = True
        encoded = encoder.finish()
        state.position = after
        state.read_done = finished
        state.delta_link = feed.delta_link if finished else None
        if encoded.rows == 0 and not encoded.rejected and state.parts > 0:
            progress.save(job.account_id, state)  # nothing left to write: only the end
            continue
        number = state.parts + 1
        if encoded.size:  # a last part of rows all left out is recorded, not uploaded
            target.put(state, number, encoded.data)
        part = LoadedPart(
            number=number,
            rows=encoded.rows,
            size=encoded.size,
            md5=encoded.md5,
            sha256=encoded.sha256,
            rejected=encoded.rejected,
        )
        state.parts, state.size = number, state.size + encoded.size
        state.rows += encoded.rows
        state.rejected += len(encoded.rejected)
        progress.record_part(job.account_id, state, part)
        sent.append(number)
        yield

    parts = progress.parts(job.account_id, table)
    if state.status is LoadStatus.UPLOADING:
        target.complete(state, parts)
        state.status = LoadStatus.UPLOADED
        progress.save(job.account_id, state)
        yield
    if state.status is LoadStatus.UPLOADED:
        adobe.trigger_signal(
            job.settings.workflow_id,
            job.settings.signal_activity,
            source=SIGNAL_SOURCE,
            parameters={FILE_PARAMETER: state.remote_name, ROWS_PARAMETER: state.rows},
        )
        state.status, state.signalled_at = LoadStatus.SIGNALLED, now()
        progress.save(job.account_id, state)
    assert state.delta_link is not None
    return FileLoadOutcome(
        remote_name=state.remote_name,
        rows=state.rows,
        parts=state.parts,
        delta_link=state.delta_link,
        rejected=[r for p in parts for r in p.rejected],
        sent_parts=sent,
        notes=notes,
    )


def _stale(job: FileLoadJob, target: DropTarget, state: LoadState | None) -> str | None:
    """Why the recorded transfer cannot be continued (None: it can, or there is none)."""
    if state is None or state.status is not LoadStatus.UPLOADING:
        return None
    same = (state.target, state.format, state.columns, state.part_size) == (
        target.where,
        job.format,
        job.columns,
        job.settings.part_size,
    )
    if not same:
        return (
            f"the file drop settings or the mapping of {job.mapping.dynamics_table} changed "
            "since the transfer began; the file transfer started over"
        )
    if state.parts and not target.still_there(state):
        return (
            f"{target.where} no longer holds the {state.parts} parts recorded of "
            f"{state.remote_name}; the file transfer started over"
        )
    return None


def _begin(
    job: FileLoadJob, progress: FileLoadProgress, target: DropTarget, now: Callable[[], datetime]
) -> LoadState:
    table = job.mapping.dynamics_table
    progress.reset(job.account_id, table)
    started = now()
    remote_name = job.format.file_name(f"{table}_{started:%Y%m%d_%H%M%S}")
    state = LoadState(
        table=table,
        remote_name=remote_name,
        target=target.where,
        format=job.format,
        columns=job.columns,
        part_size=job.settings.part_size,
        started=started,
    )
    state.upload_id = target.start(remote_name)
    progress.begin(job.account_id, state)
    return state
