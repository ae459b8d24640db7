"""The ingress sync types: each mapped table in turn, first the records waiting from earlier
runs, then its change read page by page (all records on the initial load or a replay, else
Dataverse change tracking from the stored delta link), each page planned and written by
`writes.PageWriter`.

Checkpoints: the page's intent (its counts) before its writes, the read position and the
table's stored state after them. A slice or a killed worker continues from the last page
done, and a failed run's next run continues the same read from the stored position."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.dataverse.changes import ChangePosition
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.errors import ConfigurationError
from shared.storage.adobe_config_model import (
    PROFILE,
    AdobeConfig,
    TableMapping,
    default_profile_mapping,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.storage.adobe_file_drop import FileDropRepository
from shared.sync.adobe.file_load_phase import file_drop_for, initial_transfer
from shared.sync.adobe.file_load_progress import FileLoadProgress
from shared.sync.adobe.ingress.schema import (
    ChangeTrackingOff,
    MappedTableGone,
    TableSchema,
    resolve,
)
from shared.sync.adobe.ingress.state import MAX_WAITING, IngressStates, TableState
from shared.sync.adobe.ingress.writes import Action, PageWriter, ParentCache, Step
from shared.sync.adobe.linked_columns import read_linked
from shared.sync_types import SyncType

PAGE_SIZE = 500  # Dynamics records a page: one checkpoint each
WORKERS = 8  # Campaign calls in flight for one page
MAX_NAMED_FAILURES = 100  # failed records named in the audit details of one run
WRITES = (Action.CREATE, Action.UPDATE, Action.DELETE)


class Intent(BaseModel):
    """A page whose writes are under way: which page, and the counts it set out to make."""

    mark: str
    counts: dict[str, int]


class TableRun(BaseModel):
    table: str
    begun: bool = False
    load: bool = False
    position: ChangePosition | None = None
    # The delta link the table's change read started from: a slice that redoes the read's
    # first page reads from it, even once the stored state holds the next run's link.
    start_link: str | None = None
    waiting_done: bool = False
    by_file: bool = False  # the load goes through the account's file drop (file_load_phase)
    done: bool = False
    resync_reason: str = ""
    problem: str = ""  # the table could not be synced at all
    counts: Counts = Counts()
    waiting: int = 0
    reread: bool = False  # too many waited: the next run reads the whole table again


class IngressCursor(Cursor):
    version: ClassVar[int] = 1

    tables: list[TableRun]
    index: int = 0
    intent: Intent | None = None
    named_failures: int = 0


def load_config(run: Run[Any]) -> AdobeConfig:
    stored = run.services.repository(AdobeConfigRepository).load(run.account.account_id)
    if stored is not None:
        return stored.config
    return AdobeConfig(account_id=run.account.account_id, tables=[default_profile_mapping()])


class Ingress(SyncTypeTemplate[IngressCursor]):
    """Dynamics tables -> Campaign resources; `profiles` picks contact -> profile or the rest."""

    cursor_model = IngressCursor
    profiles: ClassVar[bool]

    def __init__(self, *, page_size: int = PAGE_SIZE, workers: int = WORKERS) -> None:
        self.page_size = page_size
        self.workers = workers

    def owns(self, mapping: TableMapping) -> bool:
        return (mapping.campaign_resource == PROFILE) is self.profiles

    def start(self, run: Run[IngressCursor]) -> IngressCursor:
        config = load_config(run)
        return IngressCursor(
            tables=[TableRun(table=t.dynamics_table) for t in config.tables if self.owns(t)]
        )

    def run(self, run: Run[IngressCursor]) -> Steps:
        cursor = run.cursor
        config = load_config(run)
        client = run.platform(AdobeCampaignClient)
        states = IngressStates(run.services.state, run.account.account_id,
                               self.declaration.sync_type)  # fmt: skip
        parents = ParentCache(client)
        while cursor.index < len(cursor.tables):
            progress = cursor.tables[cursor.index]
            mapping = config.table(progress.table)
            schema: TableSchema | None = None
            if mapping is None or not self.owns(mapping):
                progress.problem = "No longer mapped: not synced."
            else:
                try:
                    schema = resolve(run.services.dataverse(), config, mapping)
                except (MappedTableGone, ChangeTrackingOff) as error:
                    progress.problem = str(error)
            if schema is None:
                progress.done = True
                cursor.index += 1
                yield
                continue
            writer = PageWriter(client, schema, progress.load, parents,
                                workers=1 if run.dry_run else self.workers)  # fmt: skip
            yield from self._table(run, states, progress, schema, writer)
        return _result(run)

    def _table(
        self,
        run: Run[IngressCursor],
        states: IngressStates,
        progress: TableRun,
        schema: TableSchema,
        writer: PageWriter,
    ) -> Generator[None, None, None]:
        cursor, table, now = run.cursor, progress.table, run.services.clock()
        state = states.load(table)
        if not progress.begun:
            if states.replay_requested(table):
                state = TableState(load=True, waiting=state.waiting)
                states.save(table, state, now)
                # A replay by file writes a new file, not the last load's again.
                run.services.repository(FileLoadProgress).reset(run.account.account_id, table)
                states.take_replay(table, now)
            if state.load and state.reread:  # this run is the whole read the flag asked for
                state.reread = False
                states.save(table, state, now)
            progress.begun, progress.load, progress.position = True, state.load, state.position
            progress.start_link = None if state.load else state.delta_link
            # An unfinished API read (a position) goes on over the API.
            if progress.load and progress.position is None:
                progress.by_file = file_drop_for(run, schema.mapping) is not None
            writer.load = progress.load
            yield
        if not progress.waiting_done:
            records = []
            for key in state.waiting:
                found = run.services.dataverse().retrieve(
                    schema.entity_set, key, schema.select, formatted_values=True
                )
                if found is not None:  # deleted in Dynamics since: nothing left to write
                    records.append(found)
            retry = yield from self._page(run, writer, f"{table}:waiting", progress, records, [])
            _wait(state, retry, merge=False)
            states.save(table, state, now)
            progress.waiting_done = True
            yield
        if progress.by_file:
            yield from self._by_file(run, states, state, progress, schema, writer)
            return
        feed = run.services.dataverse().read_changes(
            schema.entity_set,
            schema.select,
            progress.start_link,
            page_size=self.page_size,
            resume=progress.position,
            formatted_values=True,
        )
        if feed.full_resync_reason:
            progress.resync_reason = feed.full_resync_reason
        delta_link: str | None = None
        for page in feed:
            mark = f"{table}:{page.number}"
            retry = yield from self._page(run, writer, mark, progress, page.upserts,
                                          page.deleted_ids)  # fmt: skip
            _wait(state, retry)
            if page.resume is None:
                delta_link = page.delta_link
                break  # the last page: the table's state and the cursor move together below
            progress.position = state.position = page.resume
            states.save(table, state, run.services.clock())
            yield
        done = TableState(load=state.reread, delta_link=delta_link, waiting=state.waiting)
        states.save(table, done, run.services.clock())
        progress.waiting, progress.reread = len(done.waiting), state.reread
        progress.done, progress.position = True, None
        cursor.index += 1
        yield

    def _by_file(
        self,
        run: Run[IngressCursor],
        states: IngressStates,
        state: TableState,
        progress: TableRun,
        schema: TableSchema,
        writer: PageWriter,
    ) -> Generator[None, None, None]:
        """The initial load through the file drop; then the records the file could not carry
        over the API, and the delta link for the changes of the next runs."""
        cursor, table = run.cursor, progress.table
        drop = run.services.repository(FileDropRepository).load(run.account.account_id)
        if drop is None:
            raise ConfigurationError(
                f"The file drop of '{run.account.account_id}' was removed while {table} was "
                f"being transferred by file: set it again, or `adobe file-drop restart "
                f"{run.account.account_id} {table}` and replay the table to load it over the API"
            )
        outcome = yield from initial_transfer(run, schema.mapping, drop)
        progress.counts = progress.counts + Counts(
            read=outcome.rows + len(outcome.rejected), created=outcome.rows
        )
        keys = list(dict.fromkeys(r.key for r in outcome.rejected))
        for start in range(0, len(keys), self.page_size):
            records = [
                found
                for key in keys[start : start + self.page_size]
                if (found := run.services.dataverse().retrieve(
                    schema.entity_set, key, schema.select, formatted_values=True)) is not None
            ]  # fmt: skip
            mark = f"{table}:file-left-out:{start}"
            retry = yield from self._page(run, writer, mark, progress, records, [])
            _wait(state, retry)
        done = TableState(load=state.reread, delta_link=outcome.delta_link,
                          waiting=state.waiting)  # fmt: skip
        states.save(table, done, run.services.clock())
        progress.waiting, progress.reread = len(done.waiting), state.reread
        progress.done = True
        cursor.index += 1
        yield

    def _page(
        self,
        run: Run[IngressCursor],
        writer: PageWriter,
        mark: str,
        progress: TableRun,
        upserts: list[dict[str, Any]],
        deleted: list[str],
    ) -> Generator[None, None, list[str]]:
        """Plan, checkpoint the intent, write, count; the keys to try again at the next run."""
        cursor, linked = run.cursor, writer.schema.linked
        # The records the page's lookups point to: one read per hop for the whole page.
        found = None if linked is None or not upserts else read_linked(
            run.services.dataverse(), linked, upserts, writer.schema.key_of)  # fmt: skip
        steps = writer.plan(upserts, deleted, found)
        intent = cursor.intent
        if intent is None or intent.mark != mark:
            planned = {a.value: sum(1 for s in steps if s.action is a and not s.error)
                       for a in WRITES}  # fmt: skip
            intent = Intent(mark=mark, counts=planned)
            if any(planned.values()):
                # Saved before the writes: a replay of this page after a kill finds its
                # creations present and would count them as updates; it counts these.
                cursor.intent = intent
                run.save_only()
                yield
        steps = writer.write(steps)
        made = dict(intent.counts)
        failed = [s for s in steps if s.error]
        for step in (s for s in failed if s.action in WRITES):  # planning failures: uncounted
            for action in (step.action, *WRITES):
                if made.get(action.value, 0) > 0:
                    made[action.value] -= 1
                    break
        counts = Counts(
            read=len(upserts) + len(deleted),
            created=made.get(Action.CREATE.value, 0),
            updated=made.get(Action.UPDATE.value, 0),
            deleted=made.get(Action.DELETE.value, 0),
            failed=len(failed),
        )
        run.counts = run.counts + counts
        progress.counts = progress.counts + counts
        for step in failed:
            _name_failure(run, progress.table, step)
        cursor.intent = None
        return [s.key for s in steps if s.action is Action.WAIT or s.retry]


def _wait(state: TableState, more: list[str], *, merge: bool = True) -> None:
    """Keep `more` (after the ids already waiting, if `merge`) for the next run. Past what a
    state row holds, the rest is not dropped: the table is marked to be read whole again."""
    merged = list(dict.fromkeys([*state.waiting, *more] if merge else more))
    state.waiting = merged[:MAX_WAITING]
    state.reread = state.reread or len(merged) > MAX_WAITING


def _name_failure(run: Run[IngressCursor], table: str, step: Step) -> None:
    cursor = run.cursor
    if cursor.named_failures >= MAX_NAMED_FAILURES:
        return
    cursor.named_failures += 1
    then = " (tried again at the next run)" if step.retry else ""
    run.detail(
        AuditDetail(
            item=f"{table} {step.key}",
            status=AuditStatus.FAILED,
            message=f"Not synced{then}: {step.error}"[:1000],
            counts=Counts(failed=1),
            key=f"{table}:{step.key}",
        )
    )


def _result(run: Run[IngressCursor]) -> SyncResult:
    cursor, counts = run.cursor, run.counts
    problems = [t for t in cursor.tables if t.problem]
    waiting = sum(t.waiting for t in cursor.tables)
    for progress in cursor.tables:
        if progress.problem:
            run.detail(AuditDetail(item=progress.table, status=AuditStatus.FAILED,
                                   message=progress.problem))  # fmt: skip
            continue
        c = progress.counts
        parts = [f"{c.read} read", f"{c.created} created", f"{c.updated} updated",
                 f"{c.deleted} deleted"]  # fmt: skip
        if c.failed:
            parts.append(f"{c.failed} failed")
        if progress.waiting:
            parts.append(f"{progress.waiting} waiting for their parent record in Campaign")
        if progress.reread:
            parts.append(f"more than {MAX_WAITING} waited for their parent record: the next "
                         "run reads the whole table again")  # fmt: skip
        kind = "Initial load" if progress.load else "Changes"
        if progress.by_file:
            kind = "Initial load by file"
        if progress.resync_reason:
            kind = f"Full read ({progress.resync_reason})"
        status = AuditStatus.COMPLETED_WITH_ERRORS if c.failed else AuditStatus.COMPLETED
        run.detail(AuditDetail(item=progress.table, status=status, counts=c,
                               message=f"{kind}: {', '.join(parts)}"))  # fmt: skip
    if not counts.read and not problems and not waiting:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = (f"{counts.read} Dynamics records read: {counts.created} created, {counts.updated} "
            f"updated, {counts.deleted} deleted in Campaign")  # fmt: skip
    if waiting:
        text += (f"; {waiting} wait for their parent record in Campaign and are tried again "
                 "at the next run")  # fmt: skip
    if not counts.failed and not problems:
        return SyncResult(AuditStatus.COMPLETED, text)
    if counts.failed:
        first = next(t.table for t in cursor.tables if t.counts.failed)
        text += (
            f"; {counts.failed} failed and were skipped: the details name each record and why; "
            "correct the record in Dynamics (its next change syncs it) or the mapping, then "
            f"replay the table (`adobe replay {run.account.account_id} --table {first}`)"
        )
    if problems:
        text += "; " + " ".join(t.problem for t in problems)
    wrote = counts.created + counts.updated + counts.deleted
    status = AuditStatus.COMPLETED_WITH_ERRORS if wrote or counts.read > counts.failed else (
        AuditStatus.FAILED)  # fmt: skip
    return SyncResult(status, text[:1000])


class ProfileIngress(Ingress):
    declaration = SyncDeclaration(
        SyncType.PROFILE_INGRESS,
        frozenset({Platform.ADOBE_CAMPAIGN}),
        Direction.TO_PLATFORM,
        summary="Dynamics contacts -> Campaign profiles (keyed by externalId = contactid)",
    )
    profiles = True


class CustomEntityIngress(Ingress):
    declaration = SyncDeclaration(
        SyncType.CUSTOM_ENTITY_INGRESS,
        frozenset({Platform.ADOBE_CAMPAIGN}),
        Direction.TO_PLATFORM,
        summary="mapped Dynamics tables -> Campaign custom resources (keyed by their CRM id)",
    )
    profiles = False
