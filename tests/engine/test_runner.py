"""The runner with a small sync type of the test's own: checkpoints at each yield, pauses
when the slice's time is up and resumes from the cursor, checks prerequisites once, commits
watermarks only when a live run completes, and records instead of writing in a dry run."""

from __future__ import annotations

from typing import Any

import pytest

from shared.accounts import EmailAccount, Platform
from shared.audit import AuditDetail, AuditStatus, Counts
from shared.engine import (
    Cursor,
    Direction,
    LastRunDidNotFail,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
    WatermarkWindow,
)
from shared.engine.registry import NotAvailable, SyncTypeRegistry
from shared.engine.runner import PAUSED, Slice
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel
from shared.sync_types import SyncType

ACCOUNT = EmailAccount(account_id="acme", name="Acme")
KEY = "Example-Watermark"


class CountingCursor(Cursor):
    next: int = 0
    window: WatermarkWindow


class Counting(SyncTypeTemplate[CountingCursor]):
    """Saves one label per unit; three units."""

    declaration = SyncDeclaration(
        SyncType.DATA_LABELS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_PLATFORM,
        prerequisites=(LastRunDidNotFail(SyncType.CRM_METADATA, "CrmMetadata failed"),),
    )
    cursor_model = CountingCursor

    def __init__(self) -> None:
        self.units_done: list[int] = []

    def start(self, run: Run[CountingCursor]) -> CountingCursor:
        return CountingCursor(window=run.watermark(KEY))

    def run(self, run: Run[CountingCursor]) -> Steps:
        while run.cursor.next < 3:
            n = run.cursor.next
            run.services.data_labels.save(run.account.account_id, DataLabel(name=f"LABEL{n}"))
            self.units_done.append(n)
            run.counts += Counts(created=1)
            run.cursor.next += 1
            yield
        run.detail(AuditDetail(item="all", status=AuditStatus.COMPLETED))
        return SyncResult(message="3 labels")

    def watermarks(self, cursor: CountingCursor) -> list[WatermarkWindow]:
        return [cursor.window]


class Store:
    """What the worker would persist: the last checkpoint and the detail rows."""

    def __init__(self) -> None:
        self.saved: dict[str, Any] = {}
        self.counts = Counts()
        self.saves = 0
        self.details: list[AuditDetail] = []

    def save(self, cursor: dict[str, Any], counts: Counts) -> None:
        self.saved, self.counts = cursor, counts
        self.saves += 1


def _slice(
    runtime: Runtime, store: Store, kind: Counting, *, budget: float, dry: bool = False
) -> Slice:
    return Slice(
        sync_type=kind, services=runtime, account=ACCOUNT, run_id="r1", dry_run=dry,
        budget_seconds=budget, save=store.save, add_detail=store.details.append,
    )  # fmt: skip


def _labels(runtime: Runtime) -> list[str]:
    return sorted(label.name for label in runtime.data_labels.for_account("acme"))


def test_each_yield_is_a_checkpoint_and_a_run_resumes_from_it(runtime: Runtime) -> None:
    kind, store = Counting(), Store()
    slices = 0
    result: Any = PAUSED
    while result is PAUSED:
        slices += 1
        result = _slice(runtime, store, kind, budget=0).run(store.saved, store.counts)
    assert slices == 4  # plan + one unit per slice, the last slice returns the result
    assert kind.units_done == [0, 1, 2]  # no unit done twice
    assert result == SyncResult(message="3 labels")
    assert store.counts.created == 3
    assert _labels(runtime) == ["LABEL0", "LABEL1", "LABEL2"]
    assert runtime.state.get_value("acme", KEY) == runtime.clock().isoformat()


def test_a_slice_with_time_left_runs_to_the_end(runtime: Runtime) -> None:
    kind, store = Counting(), Store()
    result = _slice(runtime, store, kind, budget=60).run({}, Counts())
    assert result == SyncResult(message="3 labels")
    assert store.saves == 4  # after the plan and after each unit


def test_a_prerequisite_refuses_the_run_before_any_work(runtime: Runtime) -> None:
    schedule = runtime.schedules.get("acme", SyncType.CRM_METADATA)
    schedule.last_status = AuditStatus.FAILED.value
    runtime.schedules.save(schedule)
    kind, store = Counting(), Store()
    result = _slice(runtime, store, kind, budget=60).run({}, Counts())
    assert result == SyncResult(AuditStatus.FAILED, "CrmMetadata failed")
    assert (kind.units_done, store.saves, _labels(runtime)) == ([], 0, [])


def test_a_dry_run_writes_nothing_and_reports_what_it_would_write(runtime: Runtime) -> None:
    kind, store = Counting(), Store()
    result: Any = PAUSED
    while result is PAUSED:  # over several slices: the recorded writes add up
        result = _slice(runtime, store, kind, budget=0, dry=True).run(store.saved, store.counts)
    assert _labels(runtime) == []
    assert runtime.state.get_value("acme", KEY) is None  # no watermark moved
    assert result.message.startswith("Dry run, nothing written")
    [would] = [d for d in store.details if d.item.startswith("Would")]
    assert would.item == "Would save EmailDataLabels (connector tables)"
    assert would.counts.read == 3


def test_the_registry_refuses_a_type_the_platform_does_not_have() -> None:
    registry = SyncTypeRegistry([Counting()])
    assert registry.available(Platform.DOTDIGITAL, SyncType.DATA_LABELS)
    with pytest.raises(NotAvailable, match="not available for AdobeCampaign accounts"):
        registry.get(Platform.ADOBE_CAMPAIGN, SyncType.DATA_LABELS)


class Killed(BaseException):
    """The process dies: no `except Exception` in the product catches it."""


def _run_to_the_end(runtime: Runtime, store: Store, kind: Counting) -> Any:
    result: Any = PAUSED
    while result is PAUSED:
        result = _slice(runtime, store, kind, budget=0).run(store.saved, store.counts)
    return result


@pytest.mark.parametrize("kill_at", range(1, 8))
def test_killed_at_any_write_the_run_ends_like_an_unkilled_one(
    runtime: Runtime, kill_at: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Operations in order: plan checkpoint, then per unit a label write and its checkpoint.
    Dying at the k-th one and resuming from what was saved gives the same labels, the same
    counts and the same result as a run nobody killed."""
    kind, store = Counting(), Store()
    operations = 0

    def dies_at_k(*_: Any) -> None:
        nonlocal operations
        operations += 1
        if operations == kill_at:
            raise Killed

    save_label, save_checkpoint = runtime.data_labels.save, store.save
    monkeypatch.setattr(runtime.data_labels, "save", lambda *a: (dies_at_k(), save_label(*a))[1])
    monkeypatch.setattr(store, "save", lambda *a: (dies_at_k(), save_checkpoint(*a))[1])

    with pytest.raises(Killed):
        _run_to_the_end(runtime, store, kind)
    result = _run_to_the_end(runtime, store, kind)  # the redelivered message

    assert result == SyncResult(message="3 labels")
    assert _labels(runtime) == ["LABEL0", "LABEL1", "LABEL2"]
    assert store.counts == Counts(created=3)  # each label counted once, not once per attempt
