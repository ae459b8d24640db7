"""Dead letters from the operator's side: listed with their reason and audit row, replayed with
one command once the cause is fixed, and a replay changes nothing the second time."""

from __future__ import annotations

import json
from typing import Any

from azure.data.tables import UpdateMode
from typer.testing import CliRunner

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.cli import app as cli
from shared.localhost.host import LocalHost
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline import admin
from shared.pipeline.worker import UNKNOWN_ACCOUNT
from shared.runtime import Runtime
from shared.service import dead_letters
from shared.service.dead_letters import LetterState
from shared.sync_types import SyncType
from tests.fixtures.sandboxes import DataverseSandbox

CRM = SyncType.CRM_METADATA
NOT_JSON = '{"account_id": "acme", "sync_type": "CrmMetadata"'  # cut short


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "400"})
    return result.exit_code, result.output


def _break_schedule(rt: Runtime, **columns: Any) -> None:
    table = rt.tables.client("SyncSchedules")
    entity = dict(table.get_entity("acme", CRM.value))
    entity.update(columns)
    table.update_entity(entity, mode=UpdateMode.REPLACE)  # what Storage Explorer does


def _queue(rt: Runtime) -> StorageQueueAdapter:
    queue = rt.queue
    assert isinstance(queue, StorageQueueAdapter)
    return queue


def _crm_runs(rt: Runtime) -> list[tuple[str, AuditStatus]]:
    return [(r.run_id, r.status) for r in rt.audit.recent("acme", sync_type=CRM)
            if not r.run_id.startswith("poison-")]  # fmt: skip


def test_a_dead_lettered_run_is_replayed_once_its_cause_is_fixed_and_only_once(
    sync_runtime: Runtime,
    acme: EmailAccount,
    host: LocalHost,
    dataverse_sandbox: DataverseSandbox,
) -> None:
    rt = sync_runtime
    admin.sync_now(rt, "acme", CRM)
    run_id = rt.schedules.get("acme", CRM).run_id
    # The schedule row is broken by hand while its run is queued: no worker can start it.
    _break_schedule(rt, Interval="every fortnight")
    _queue(rt).queue.send_message(NOT_JSON)
    host.drain()

    code, out = invoke("dead-letters", "list")
    assert code == 0, out
    crm, broken = dead_letters.list_dead_letters(rt)
    assert (crm.account_id, crm.sync_type, crm.run_id) == ("acme", "CrmMetadata", run_id)
    assert crm.state is LetterState.WAITING and "every fortnight" in crm.reason
    assert crm.audit is not None and crm.audit.status is AuditStatus.FAILED
    assert "dead-letter queue" in crm.audit.message
    assert broken.state is LetterState.UNUSABLE and "Invalid sync request" in broken.reason
    assert broken.audit is not None and broken.audit.account_id == UNKNOWN_ACCOUNT
    for shown in (run_id, "every fortnight", "schedule set acme CrmMetadata", "unusable",
                  f"dead-letters discard {broken.letter_id}"):  # fmt: skip
        assert shown in out
    code, out = invoke("dead-letters", "list", "--output", "json")
    assert code == 0 and json.loads(out) == [v.model_dump(mode="json") for v in (crm, broken)]

    # Not fixed yet: both stay, nothing is sent.
    code, out = invoke("dead-letters", "replay", "--all")
    assert code == 0 and "0 resent, 0 removed (nothing left to run), 2 kept." in out
    assert host.drain() == 0

    code, out = invoke("schedule", "set", "acme", "CrmMetadata", "--interval", "1 hour")
    assert code == 0, out
    code, out = invoke("dead-letters", "replay", "--all")
    assert code == 0 and "1 resent, 0 removed (nothing left to run), 1 kept." in out
    host.drain()
    assert _crm_runs(rt) == [(run_id, AuditStatus.COMPLETED)]

    # Again: nothing new (the poison body is never sent: it would only come back).
    code, out = invoke("dead-letters", "replay", "--all")
    assert code == 0 and "0 resent, 0 removed (nothing left to run), 1 kept." in out
    assert host.drain() == 0
    assert _crm_runs(rt) == [(run_id, AuditStatus.COMPLETED)]

    code, out = invoke("dead-letters", "discard", broken.letter_id)
    assert code == 0 and "removed" in out
    code, out = invoke("dead-letters", "list")
    assert code == 0 and "No dead letters." in out


def test_a_dead_letter_of_a_run_that_finished_is_removed_and_nothing_is_sent(
    sync_runtime: Runtime,
    acme: EmailAccount,
    host: LocalHost,
    dataverse_sandbox: DataverseSandbox,
) -> None:
    rt = sync_runtime
    admin.sync_now(rt, "acme", CRM)
    queue = _queue(rt)
    [delivery] = queue.receive(max_messages=1, visibility=host.visibility)
    queue.dead_letter(delivery.body, "MaxDeliveryCountExceeded")  # one copy given up on...
    queue.queue.send_message(delivery.body)  # ...while another copy (a redelivery) ran
    queue.complete(delivery)
    host.drain()
    [(run_id, status)] = _crm_runs(rt)
    assert status is AuditStatus.COMPLETED

    [letter] = dead_letters.list_dead_letters(rt)
    assert letter.state is LetterState.STALE and letter.audit is not None
    assert letter.audit.run_id == run_id and letter.audit.status is AuditStatus.COMPLETED
    code, out = invoke("dead-letters", "replay", letter.letter_id)

    assert code == 0, out
    assert "0 resent, 1 removed (nothing left to run), 0 kept." in out
    assert "sync-now acme CrmMetadata" in out
    assert host.drain() == 0 and _crm_runs(rt) == [(run_id, AuditStatus.COMPLETED)]
    code, out = invoke("dead-letters", "replay", letter.letter_id)
    assert code == 4 and f"No dead letter '{letter.letter_id}'" in out


def test_replay_needs_an_id_or_all(sync_runtime: Runtime) -> None:
    code, out = invoke("dead-letters", "replay")
    assert code == 2 and "or use --all" in out
