"""Conditions a marketing-list sync checks before it starts."""

from __future__ import annotations

from shared.audit import AuditStatus, Messages
from shared.sync.base import SyncContext, SyncResult
from shared.sync_types import SyncType


def data_labels_gate(ctx: SyncContext) -> SyncResult | None:
    """A failed result when the account's last DataLabels sync failed, else None.

    Mapped fields may name labels the platform does not have yet; pushing lists then would
    lose those values, so the product refuses to start (seed: "Marketing list sync didn't
    start as Data Label sync failed").
    """
    last = ctx.services.schedules.get(ctx.account.account_id, SyncType.DATA_LABELS)
    if last.last_status == AuditStatus.FAILED.value:
        return SyncResult(AuditStatus.FAILED, Messages.DATA_LABELS_FAILED)
    return None
