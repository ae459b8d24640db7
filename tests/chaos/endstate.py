"""What a run leaves behind, captured so that two runs can be compared: the address book in
the Dotdigital sandbox, Dataverse's rows, the connector's snapshot of the list, the audit."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from typing import Any

from sandbox.launch import Sandboxes
from shared.audit import AuditStatus
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from shared.sync.marketing_lists.snapshot_repo import list_members
from tests.chaos.harness import Broker, KillSwitch
from tests.chaos.world import LIST_NAME, OUT, ChaosWorld, WorldSpec, book_members, build_world

DATAVERSE_TABLES = ("contact", "account", "list")

AuditLine = tuple[str, str, tuple[int, int, int, int, int]]  # (item, status, counts)


@dataclass(frozen=True)
class EndState:
    book: dict[str, dict[str, Any]]  # email -> data fields
    books_named: int  # address books with the list's name
    contacts: int  # contacts in the Dotdigital account
    dataverse: str  # digest of Dataverse's rows
    snapshot: dict[str, tuple[str, str]]  # member id -> (email, values hash)
    audit: tuple[AuditLine, ...]  # one line per audit row: (sync type, status, counts)
    details: tuple[AuditLine, ...]  # one line per detail row, sorted

    def differences(self, other: EndState) -> list[str]:
        """Human-readable differences (empty when equal); `self` is the expected state."""
        out = []
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine == theirs:
                continue
            if isinstance(mine, tuple):  # audit lines: only those that differ
                lost = [line for line in mine if line not in theirs]
                new = [line for line in theirs if line not in mine]
                out.append(f"{f.name}: {new}, expected {lost}")
            elif isinstance(mine, dict):
                missing = sorted(set(mine) - set(theirs))[:3]
                extra = sorted(set(theirs) - set(mine))[:3]
                changed = sorted(k for k in set(mine) & set(theirs) if mine[k] != theirs[k])[:3]
                out.append(
                    f"{f.name}: {len(theirs)} entries, expected {len(mine)}; missing {missing}, "
                    f"extra {extra}, changed {changed}"
                )
            else:
                out.append(f"{f.name}: {theirs!r}, expected {mine!r}")
        return out


def capture(world: ChaosWorld) -> EndState:
    rt = world.runtime()
    store = world.sandboxes.dotdigital.store
    books = [b for b in store.books.values() if b.name.lower() == LIST_NAME.lower()]
    snapshot = {
        m.member_id: (m.email, m.values_hash)
        for m in list_members(rt).iter_members(world.account_id, world.list_id)
    }
    audit: list[AuditLine] = []
    details: list[AuditLine] = []
    for row in sorted(rt.audit.recent(world.account_id, limit=50), key=lambda r: r.row_key):
        audit.append((str(row.sync_type), row.status.value, _counts(row.counts)))
        for detail in rt.audit.details(world.account_id, row.row_key):
            details.append((f"{row.sync_type}: {detail.item}", detail.status.value,
                            _counts(detail.counts)))  # fmt: skip
    return EndState(
        book=book_members(world),
        books_named=len(books),
        contacts=store.count(),
        dataverse=dataverse_digest(world),
        snapshot=snapshot,
        audit=tuple(audit),
        details=tuple(sorted(details)),
    )


def dataverse_digest(world: ChaosWorld) -> str:
    state = world.sandboxes.dataverse
    rows = {
        name: sorted(
            (json.dumps(state.row(name, row_id), sort_keys=True, default=str)
             for row_id in list(state.table(name).rows)),
        )
        for name in DATAVERSE_TABLES
    }  # fmt: skip
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def _counts(counts: Any) -> tuple[int, int, int, int, int]:
    return (counts.read, counts.created, counts.updated, counts.deleted, counts.failed)


@dataclass(frozen=True)
class Reference:
    """The run nobody killed and nothing disturbed: what every chaos run must end like."""

    spec: WorldSpec
    state: EndState
    trace: list[str]  # its boundary operations, in order


def reference_run(azurite: AzuriteProcess, sandboxes: Sandboxes, spec: WorldSpec) -> Reference:
    world = build_world(azurite, sandboxes, spec)
    before = dataverse_digest(world)
    admin.sync_now(world.runtime(), world.account_id, OUT)
    switch = KillSwitch(kill_at=None)
    log = Broker(world, switch).run_to_the_end()

    state = capture(world)
    assert log.kills == 0 and log.deliveries >= 1
    assert set(state.book) == world.expected_emails()  # everyone, with their values
    assert state.books_named == 1 and state.contacts == len(state.book)
    assert state.dataverse == before  # DataIn found nothing to bring back
    assert len(state.snapshot) == len(state.book)
    assert {line[1] for line in state.audit} == {AuditStatus.COMPLETED.value}, state.audit
    return Reference(spec, state, switch.trace)
