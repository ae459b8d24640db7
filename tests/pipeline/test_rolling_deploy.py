"""A rolling deploy: for a while workers of two versions read the same queue, so a message a
newer version sent (with a field this version does not know) must still run here."""

from __future__ import annotations

import json

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.pipeline.helpers import take_queued


def test_a_message_with_a_field_this_version_does_not_know_runs(
    sync_runtime: Runtime, acme: EmailAccount
) -> None:
    assert admin.sync_now(sync_runtime, "acme", SyncType.DATA_LABELS).accepted
    [message] = take_queued(sync_runtime)
    body = json.loads(message.to_json())
    body["sent_by_version"] = "next"  # what a newer worker might add

    assert Worker(sync_runtime).handle(json.dumps(body)) is Outcome.FINISHED

    [row] = sync_runtime.audit.recent("acme")
    assert (row.run_id, row.status) == (message.run_id, AuditStatus.COMPLETED)
