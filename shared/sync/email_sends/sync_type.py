"""EmailSends ("Email sends from Dynamics"): the account's Email Send rows still to do, one
after another (`one_send`), on the type's schedule and by webhook (a new row starts a Webhook
run).

The plan is the account's active rows that are Requested, or that a run which ended early left
Synchronising List or Sending (at most `MAX_SENDS` a run; the rest stay Requested for the next
run). Each send is taken up with a checkpoint before anything is decided, so a replay of a send
whose row the dead attempt already settled counts that outcome as its own.

Audit: one detail row per send (item "campaign -> list", its outcome), besides the list's own
detail row from its sync. Status: Completed when every send was sent; Completed With Errors when
some were refused or failed; Failed when none was sent. Nothing requested: "No new objects to
sync". The marketing list sync's gate holds here too: no run after a failed DataLabels sync.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import ClassVar

from shared.accounts import Platform
from shared.audit import AuditStatus, Messages
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.sync.email_sends.one_send import (
    OneSend,
    Outcome,
    SendProgress,
    detail,
    settled_outcome,
)
from shared.sync.email_sends.rows import SendStatus, iter_pending, read_send
from shared.sync.marketing_lists.data_out import DATA_LABELS_GATE, MarketingListsDataOut
from shared.sync_types import SyncType

MAX_SENDS = 100  # rows a run takes up: keeps the cursor far below its 32 KiB


class SendsCursor(Cursor):
    version: ClassVar[int] = 1

    plan: list[str] = []  # Email Send row ids, in Dataverse's order
    next: int = 0
    current: SendProgress | None = None
    sent: int = 0
    refused: int = 0
    failed: int = 0
    items: list[str] = []  # digests of the detail items written: two sends alike told apart


class EmailSends(SyncTypeTemplate[SendsCursor]):
    declaration = SyncDeclaration(
        SyncType.EMAIL_SENDS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_PLATFORM,
        prerequisites=(DATA_LABELS_GATE,),
        summary="Email Send rows -> the list's sync, then the campaign sent to its address book",
    )
    cursor_model = SendsCursor

    def __init__(self, data_out: MarketingListsDataOut | None = None) -> None:
        self.data_out = data_out or MarketingListsDataOut()

    def start(self, run: Run[SendsCursor]) -> SendsCursor:
        rows = iter_pending(run.services.dataverse(), run.account.account_id)
        plan: list[str] = []
        for row in rows:
            plan.append(row.send_id)
            if len(plan) == MAX_SENDS:
                break
        return SendsCursor(plan=plan)

    def run(self, run: Run[SendsCursor]) -> Steps:
        cursor = run.cursor
        while cursor.next < len(cursor.plan):
            yield from self._one(run, cursor.plan[cursor.next])
            cursor.next += 1
            cursor.current = None
            yield
        return _result(cursor)

    def _one(self, run: Run[SendsCursor], send_id: str) -> Generator[None, None, None]:
        cursor = run.cursor
        p = cursor.current
        resumed = p is not None and p.send_id == send_id
        if p is None or not resumed:
            p = cursor.current = SendProgress(send_id=send_id)
            run.save_only()
            yield  # taken up: from here on, a settled row is this run's doing
        row = read_send(run.services.dataverse(), send_id)
        if row is None or row.account_id.casefold() != run.account.account_id.casefold():
            return  # deleted or moved to another account meanwhile
        if not row.pending:
            found = settled_outcome(row)
            if found is not None and resumed:
                _tally(run, p, found)  # the attempt that died settled it
            return
        outcome = yield from OneSend(run, self.data_out, p).work(row)
        _tally(run, p, outcome)


def _tally(run: Run[SendsCursor], p: SendProgress, outcome: Outcome) -> None:
    cursor = run.cursor
    if outcome.status is SendStatus.SENT:
        cursor.sent += 1
    elif outcome.status is SendStatus.REFUSED:
        cursor.refused += 1
    else:
        cursor.failed += 1
    item = p.item or f"Email Send {p.send_id}"
    # Saved with the counts at the next checkpoint: a replay of this send does not see its own.
    digest = hashlib.sha256(item.encode()).hexdigest()[:10]
    if digest in cursor.items:
        item = f"{item} ({p.send_id})"  # a second send of the campaign to the list
    else:
        cursor.items.append(digest)
    written = detail(item, outcome)
    run.detail(written)
    run.counts += written.counts


def _result(cursor: SendsCursor) -> SyncResult:
    done = cursor.sent + cursor.refused + cursor.failed
    if done == 0:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    message = (
        f"{done} email send{'s' if done != 1 else ''}: {cursor.sent} sent, "
        f"{cursor.refused} refused, {cursor.failed} failed"
    )
    if cursor.refused + cursor.failed == 0:
        return SyncResult(AuditStatus.COMPLETED, message)
    status = AuditStatus.COMPLETED_WITH_ERRORS if cursor.sent else AuditStatus.FAILED
    return SyncResult(status, message)
