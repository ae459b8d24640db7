"""After an incident: dead letters (list, replay, discard), a run's failed records (list,
retry as a targeted run), and reconciliation (does each email-activated list agree with its
address book)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import dead_letters, failed_records, reconciliation
from shared.service.dead_letters import DeadLetterView, ReplayReport, ReplayResult
from shared.service.failed_records import FailedRun, RetryAnswer
from shared.service.reconciliation import DriftReport
from shared.sync_types import SyncType

router = APIRouter(tags=["after an incident"])

# Printable text without the characters a Table key or a URL path would take apart.
TEXT = r"^[^/\\#?\x00-\x1f\x7f-\x9f]{1,200}$"
LetterId = Annotated[str, Path(alias="letterId", pattern=TEXT, description="As listed")]
SyncTypeQuery = Annotated[SyncType | None, Query(alias="syncType")]
RunIdQuery = Annotated[
    str | None, Query(alias="runId", pattern=TEXT, description="A run id from the audit")
]


@router.get("/dead-letters", responses=documented())
def list_dead_letters(rt: Rt) -> list[DeadLetterView]:
    """Oldest first, each with its reason, its run's audit row and what a replay would do."""
    return dead_letters.list_dead_letters(rt)


@router.post("/dead-letters/replay", responses=documented())
def replay_every_dead_letter(rt: Rt) -> ReplayReport:
    """Replay each dead letter whose run still waits for it; remove those whose run moved on;
    keep those whose cause is still there (idempotent like any delivery)."""
    return dead_letters.replay_dead_letters(rt)


@router.post("/dead-letters/{letterId}/replay", responses=documented(404))
def replay_dead_letter(rt: Rt, letter_id: LetterId) -> ReplayReport:
    return dead_letters.replay_dead_letters(rt, letter_id)


@router.delete("/dead-letters/{letterId}", responses=documented(404))
def discard_dead_letter(rt: Rt, letter_id: LetterId) -> ReplayResult:
    """Remove a dead letter without sending it (a body no worker can use)."""
    return dead_letters.discard_dead_letter(rt, letter_id)


@router.get("/accounts/{accountId}/failed", responses=documented(404))
def list_failed_records(
    rt: Rt, account_id: AccountId, sync_type: SyncTypeQuery = None, run_id: RunIdQuery = None
) -> list[FailedRun]:
    """One run's failed records (`runId`), or those of each sync type's newest finished run
    that failed some."""
    return failed_records.failed_runs(rt, account_id, sync_type=sync_type, run_id=run_id)


@router.post("/accounts/{accountId}/failed/retry", responses=documented(404))
def retry_failed_records(
    rt: Rt, account_id: AccountId, sync_type: SyncTypeQuery = None, run_id: RunIdQuery = None
) -> list[RetryAnswer]:
    """A targeted run (trigger Retry) over just the failed records, per run."""
    return failed_records.retry_failed(rt, account_id, sync_type=sync_type, run_id=run_id)


@router.get("/accounts/{accountId}/reconciliation", responses=documented(404))
def reconcile(
    rt: Rt,
    account_id: AccountId,
    list_name: Annotated[
        str | None, Query(alias="list", max_length=200, description="Only this list")
    ] = None,
) -> DriftReport:
    """Compare each email-activated list with its address book (members on one side only,
    mapped values that differ) and the Unsubscribes watermark with the platform's
    unsubscribes since. Reads only; paged reads on both sides."""
    return reconciliation.reconcile(rt, account_id, list_name=list_name)
