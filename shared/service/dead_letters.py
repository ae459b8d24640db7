"""Dead letters: list the messages the queue gave up on (with their reason and audit row), and
replay them once their cause is fixed (the Service Bus DLQ in Azure, the poison queue locally).

A replay is as idempotent as any delivery: the worker acts on a message only while the
schedule's run waits for it (run id and sequence). So a dead letter is replayed (sent again,
then removed) only while its run waits for it; one whose run has moved on is removed without
sending anything; one whose cause is still there is kept; a body that is not a sync request is
never sent again (it would only come back), only discarded by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from shared.audit import AuditRecord
from shared.errors import BadInputError, InvalidMessage, NotFoundError
from shared.messaging.contract import SyncRequest, peek_fields
from shared.messaging.port import DeadLetter
from shared.pipeline.worker import UNKNOWN_ACCOUNT, is_current, poison_run_id
from shared.runtime import Runtime
from shared.storage.schedules_repo import InvalidSchedule
from shared.sync.catalogue import catalogue

ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")  # as the message contract has it
MAX_BODY = 2_000  # characters of a body shown (a poison body can be 60 KB)


class LetterState(StrEnum):
    READY = "ready"  # its run waits for it: a replay runs it
    STALE = "stale"  # its run moved on: a replay removes it and sends nothing
    WAITING = "waiting"  # its cause is still there: a replay keeps it
    UNUSABLE = "unusable"  # no worker can ever use it: never sent again, discard it


class DeadLetterView(BaseModel):
    letter_id: str
    enqueued_utc: datetime | None
    reason: str
    state: LetterState
    advice: str  # what a replay does with it, or what to fix first
    account_id: str = ""
    sync_type: str = ""
    run_id: str = ""
    trigger: str = ""
    audit: AuditRecord | None = None  # the run's audit row, or the unusable message's
    body: str = ""


class ReplayOutcome(StrEnum):
    RESENT = "resent"
    REMOVED = "removed"  # its run moved on: nothing to send
    KEPT = "kept"
    GONE = "gone"  # replayed or discarded by someone else meanwhile


class ReplayResult(BaseModel):
    letter_id: str
    outcome: ReplayOutcome
    message: str


class ReplayReport(BaseModel):
    results: list[ReplayResult]

    def count(self, outcome: ReplayOutcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


class _Assessed(BaseModel):
    view: DeadLetterView
    request: SyncRequest | None = None


def list_dead_letters(rt: Runtime) -> list[DeadLetterView]:
    """The dead letters, oldest first, each with its state and what a replay would do."""
    return [_assess(rt, letter).view for letter in rt.queue.dead_letters()]


def replay_dead_letters(
    rt: Runtime,
    letter_id: str | None = None,
    *,
    progress: Callable[[ReplayResult], None] | None = None,
) -> ReplayReport:
    """Replay one dead letter (`letter_id`) or every one (None); see the module's rules."""
    letters = _letters(rt, letter_id)
    results = []
    for letter in letters:
        result = _replay(rt, _assess(rt, letter))
        results.append(result)
        if progress is not None:
            progress(result)
    return ReplayReport(results=results)


def discard_dead_letter(rt: Runtime, letter_id: str) -> ReplayResult:
    """Remove a dead letter without sending it (one that no worker can use)."""
    [letter] = _letters(rt, letter_id)
    if not rt.queue.discard_dead_letter(letter.letter_id):
        return ReplayResult(letter_id=letter_id, outcome=ReplayOutcome.GONE,
                            message="Already removed by someone else.")  # fmt: skip
    return ReplayResult(letter_id=letter_id, outcome=ReplayOutcome.REMOVED,
                        message="Removed without sending it.")  # fmt: skip


def _letters(rt: Runtime, letter_id: str | None) -> list[DeadLetter]:
    letters = rt.queue.dead_letters()
    if letter_id is None:
        return letters
    if not letter_id.strip():
        raise BadInputError("Name a dead letter by its id (see `dead-letters list`).")
    chosen = [letter for letter in letters if letter.letter_id == letter_id]
    if not chosen:
        raise NotFoundError(f"No dead letter '{letter_id}' (see `dead-letters list`).")
    return chosen


def _replay(rt: Runtime, assessed: _Assessed) -> ReplayResult:
    view = assessed.view
    outcome = ReplayOutcome.KEPT
    message = view.advice
    if view.state is LetterState.READY and assessed.request is not None:
        if rt.queue.replay_dead_letter(view.letter_id, assessed.request):
            outcome = ReplayOutcome.RESENT
            message = f"Resent: run {view.run_id} of {view.account_id}/{view.sync_type} goes on."
        else:
            outcome = ReplayOutcome.GONE
    elif view.state is LetterState.STALE:
        if rt.queue.discard_dead_letter(view.letter_id):
            outcome = ReplayOutcome.REMOVED
            message = f"Removed, nothing sent. {view.advice}"
        else:
            outcome = ReplayOutcome.GONE
    if outcome is ReplayOutcome.GONE:
        message = "Already replayed or removed by someone else."
    return ReplayResult(letter_id=view.letter_id, outcome=outcome, message=message)


def _assess(rt: Runtime, letter: DeadLetter) -> _Assessed:
    view = DeadLetterView(
        letter_id=letter.letter_id,
        enqueued_utc=letter.enqueued_utc,
        reason=letter.reason,
        state=LetterState.UNUSABLE,
        advice="",
        body=letter.body[:MAX_BODY],
    )
    discard = f"Never replayed: remove it with `dead-letters discard {letter.letter_id}`."
    try:
        request = SyncRequest.parse(letter.body)
    except InvalidMessage as error:
        fields = peek_fields(letter.body)
        view.account_id = fields.get("account_id", "")[:100]
        view.sync_type = fields.get("sync_type", "")[:100]
        view.advice = f"{error} {discard}"
        view.audit = _poison_row(rt, view.account_id, letter.body)
        return _Assessed(view=view)
    view.account_id, view.sync_type = request.account_id, request.sync_type.value
    view.run_id, view.trigger = request.run_id, request.trigger.value
    account = rt.accounts.get(request.account_id)
    audit = rt.audit.for_run(account.account_id, request.run_id) if account else []
    view.audit = audit[0] if audit else _poison_row(rt, request.account_id, letter.body)
    where = f"{request.account_id} {request.sync_type.value}"
    if account is None:
        view.advice = f"There is no email account '{request.account_id}'. {discard}"
        return _Assessed(view=view)
    if not (rt.registry or catalogue()).available(account.platform, request.sync_type):
        view.advice = (
            f"{request.sync_type.value} is not available for {account.platform.value} "
            f"accounts. {discard}"
        )
        return _Assessed(view=view)
    if account.disabled:
        view.state = LetterState.WAITING
        view.advice = f"Account '{account.name}' is disabled: enable it, then replay."
        return _Assessed(view=view)
    try:
        record = rt.schedules.get(request.account_id, request.sync_type)
    except InvalidSchedule as broken:
        view.state = LetterState.WAITING
        view.advice = f"{broken}, then replay."
        return _Assessed(view=view)
    if is_current(record, request):
        view.state = LetterState.READY
        view.advice = f"Run {request.run_id} waits for this message: a replay runs it."
        return _Assessed(view=view, request=request)
    view.state = LetterState.STALE
    view.advice = (
        f"Run {request.run_id} is no longer the schedule's current run (it finished, was "
        f"recovered or was freed since): a replay removes this message and sends nothing; "
        f"`sync-now {where}` starts a new run."
    )
    return _Assessed(view=view)


def _poison_row(rt: Runtime, account_id: str, body: str) -> AuditRecord | None:
    """The audit row the worker wrote for an unusable message: in its account's partition
    when it named a known account, else in `unknown-account`."""
    run_id = poison_run_id(body)
    known = ACCOUNT_ID.fullmatch(account_id) and rt.accounts.get(account_id)
    partitions = [account_id] if known else []
    for partition in (*partitions, UNKNOWN_ACCOUNT):
        rows = rt.audit.for_run(partition, run_id)
        if rows:
            return rows[0]
    return None
