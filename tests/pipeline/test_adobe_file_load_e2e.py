"""The file load through the whole pipeline (timer -> Azurite queue -> worker -> Dataverse and
ACS sandboxes, the SFTP server), as the initial phase of an ingress run: complete, killed at a
checkpoint and redelivered, the signal's lockout, a wrong host key in the audit.

The sync type here is the file drop's phase alone (`file_load_phase`), standing in for the
ingress's initial load until the two are joined."""

from __future__ import annotations

import pytest

from sandbox.adobe.state import Workflow
from sandbox.clock import ManualClock as SandboxClock
from shared.accounts import EmailAccount, Platform
from shared.audit import AuditStatus
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.storage.adobe_config_model import default_profile_mapping
from shared.storage.adobe_file_drop import FileDropRepository, FileDropSettings
from shared.sync.adobe.file_load_phase import file_drop_for, initial_transfer
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.filedrop import SftpServer
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.pipeline.helpers import run_scheduled
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed
from tests.sync.adobe.file_load_world import add_contacts, import_workflow
from tests.sync.adobe.test_file_load_sftp import PASSWORD_SETTING, sftp_settings

INGRESS = SyncType.PROFILE_INGRESS
CONTACTS = 2500


class FileLoadCursor(Cursor):
    pass


class FileLoadOnly(SyncTypeTemplate[FileLoadCursor]):
    """contact -> profile by file when the drop says so (the ingress's initial phase)."""

    declaration = SyncDeclaration(
        INGRESS, frozenset({Platform.ADOBE_CAMPAIGN}), Direction.TO_PLATFORM
    )
    cursor_model = FileLoadCursor

    def start(self, run: Run[FileLoadCursor]) -> FileLoadCursor:
        return FileLoadCursor()

    def run(self, run: Run[FileLoadCursor]) -> Steps:
        mapping = default_profile_mapping()
        drop = file_drop_for(run, mapping)
        if drop is None:
            return SyncResult(message="over the API")
        outcome = yield from initial_transfer(run, mapping, drop)
        return SyncResult(
            message=f"{outcome.rows} contacts by file; next: {outcome.delta_link[:8]}"
        )


@pytest.fixture
def world(
    sync_runtime: Runtime, globex: EmailAccount, sftp_server: SftpServer,
    dataverse_sandbox: DataverseSandbox, monkeypatch: pytest.MonkeyPatch,
) -> FileDropSettings:  # fmt: skip
    monkeypatch.setenv(PASSWORD_SETTING, sftp_server.password)
    add_contacts(dataverse_sandbox, CONTACTS)
    sync_runtime.registry = catalogue().replaced(FileLoadOnly())
    settings = sftp_settings(sftp_server, threshold=1000)
    sync_runtime.repository(FileDropRepository).save("globex", settings)
    return settings


@pytest.fixture
def workflow(adobe_sandbox: AdobeSandbox, sftp_server: SftpServer) -> Workflow:
    def read(name: str) -> bytes | None:
        path = sftp_server.root / "d365_loads" / name
        return path.read_bytes() if path.exists() else None

    return import_workflow(adobe_sandbox, read)


def test_a_scheduled_run_loads_the_table_by_file(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts.created == CONTACTS
    [detail] = sync_runtime.audit.details(audit.account_id, audit.row_key)
    assert detail.item == "contact by file"
    assert f"{CONTACTS:,} records in contact_" in detail.message
    assert "imported by workflow WKF_D365_LOAD" in detail.message
    assert len(adobe_sandbox.state.profiles()) == CONTACTS


def test_a_run_killed_at_a_checkpoint_is_finished_by_the_redelivery_with_each_part_once(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox, sftp_server: SftpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    die_at_save(monkeypatch, sync_runtime, 2)
    assert run_until_killed(sync_runtime, host, clock, "globex", INGRESS)
    monkeypatch.undo()
    monkeypatch.setenv(PASSWORD_SETTING, sftp_server.password)

    audit = finish_after_lease(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [result] = workflow.imports["signal"].results
    assert (result.rows, result.created) == (CONTACTS, CONTACTS)
    written = sum(length for _, _, length in sftp_server.writes)
    assert written == len((sftp_server.root / "d365_loads" / result.file).read_bytes())


def test_a_locked_out_signal_fails_the_run_and_the_next_run_only_signals(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox, sftp_server: SftpServer,
    sandbox_clock: SandboxClock, globex: EmailAccount,
) -> None:  # fmt: skip
    # Retried at once, and once only: the run gives up while the lockout lasts. (By default
    # the worker retries 300 s apart, four attempts, which outlasts the ten minutes.)
    retry = {"run_retry_delay_seconds": 0.0, "run_retry_limit": 1}
    sync_runtime.settings = sync_runtime.settings.model_copy(update=retry)
    sync_runtime.adobe_client(globex).trigger_signal("WKF_D365_LOAD", "signal", source="someone")

    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.FAILED
    assert "is locked out (one trigger every 10 minutes)" in audit.message
    assert audit.message.endswith("(after 2 attempts)")
    assert adobe_sandbox.state.profiles() == []
    writes = len(sftp_server.writes)

    sandbox_clock.advance(600)
    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert len(sftp_server.writes) == writes
    assert len(adobe_sandbox.state.profiles()) == CONTACTS


def test_a_wrong_host_key_fails_the_run_with_a_clear_audit_message(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, sftp_server: SftpServer,
) -> None:  # fmt: skip
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    destination = world.destination.model_copy(update={"host_key": other})
    sync_runtime.repository(FileDropRepository).save(
        "globex", world.model_copy(update={"destination": destination})
    )

    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.FAILED
    assert audit.message.endswith(
        f"SFTP server 127.0.0.1:{sftp_server.port} showed a host key other than the configured one"
    )
