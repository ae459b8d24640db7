"""ProfileIngress's initial load by file through the whole pipeline (timer -> Azurite queue ->
worker -> Dataverse and ACS sandboxes, the SFTP server): a table at the drop's threshold goes by
file and its changes then over the API; killed at a checkpoint and redelivered; the signal's
lockout; a wrong host key in the audit; under the threshold, the API."""

from __future__ import annotations

import pytest

from sandbox.adobe.state import Workflow
from sandbox.clock import ManualClock as SandboxClock
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.service import adobe_ingress
from shared.storage.adobe_file_drop import FileDropRepository, FileDropSettings
from shared.sync.adobe.file_load_progress import FileLoadProgress
from shared.sync_types import SyncType
from tests.fixtures.filedrop import SftpServer
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.pipeline.helpers import run_scheduled
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed
from tests.sync.adobe.file_load_world import add_contacts, sftp_import_workflow
from tests.sync.adobe.test_file_load_sftp import PASSWORD_SETTING, sftp_settings

INGRESS = SyncType.PROFILE_INGRESS
CONTACTS = 2500


@pytest.fixture
def world(
    sync_runtime: Runtime, globex: EmailAccount, sftp_server: SftpServer,
    dataverse_sandbox: DataverseSandbox, monkeypatch: pytest.MonkeyPatch,
) -> FileDropSettings:  # fmt: skip
    monkeypatch.setenv(PASSWORD_SETTING, sftp_server.password)
    add_contacts(dataverse_sandbox, CONTACTS)
    settings = sftp_settings(sftp_server, threshold=1000)
    sync_runtime.repository(FileDropRepository).save("globex", settings)
    return settings


@pytest.fixture
def workflow(adobe_sandbox: AdobeSandbox, sftp_server: SftpServer) -> Workflow:
    return sftp_import_workflow(adobe_sandbox, sftp_server)


def test_a_table_at_the_threshold_loads_by_file_then_its_changes_go_over_the_api(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox, dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts.created == CONTACTS
    details = {d.item: d for d in sync_runtime.audit.details(audit.account_id, audit.row_key)}
    assert f"{CONTACTS:,} records in contact_" in details["contact by file"].message
    assert "imported by workflow WKF_D365_LOAD" in details["contact by file"].message
    assert details["contact"].message.startswith("Initial load by file:")
    assert len(adobe_sandbox.state.profiles()) == CONTACTS
    assert adobe_sandbox.state.counters.count("POST") == 2  # the token and the signal

    # The next run reads the changes since the file's read, over the API.
    changed = next(iter(dataverse_sandbox.state.table("contact").ids_after(None)))
    dataverse_sandbox.state.update("contact", changed, {"firstname": "Changed"})
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert (audit.counts.read, audit.counts.updated) == (1, 1)
    [profile] = [p for p in adobe_sandbox.state.profiles() if p["externalId"] == changed]
    assert profile["firstName"] == "Changed"
    assert len(workflow.imports["signal"].results) == 1


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


def test_under_the_threshold_the_load_goes_over_the_api(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox, sftp_server: SftpServer,
) -> None:  # fmt: skip
    raised = world.model_copy(update={"threshold": CONTACTS + 1})
    sync_runtime.repository(FileDropRepository).save("globex", raised)

    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts.created == CONTACTS
    assert sftp_server.writes == [] and workflow.imports["signal"].results == []
    assert sync_runtime.repository(FileLoadProgress).load("globex", "contact") is None


def test_a_record_the_file_cannot_carry_goes_over_the_api_in_the_same_run(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox, dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    odd = dataverse_sandbox.state.insert(
        "contact", {"firstname": "Tab\there", "lastname": "Odd", "emailaddress1": "odd@x.test"}
    )

    audit = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts.created == CONTACTS + 1
    [result] = workflow.imports["signal"].results
    assert result.rows == CONTACTS
    [profile] = [p for p in adobe_sandbox.state.profiles() if p["externalId"] == odd]
    assert profile["firstName"] == "Tab\there"


def test_a_replay_writes_a_new_file(
    world: FileDropSettings, workflow: Workflow, sync_runtime: Runtime, host: LocalHost,
    clock: ManualClock, adobe_sandbox: AdobeSandbox, sandbox_clock: SandboxClock,
) -> None:  # fmt: skip
    first = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)
    assert first.status is AuditStatus.COMPLETED, first.message
    adobe_ingress.replay(sync_runtime, "globex", "contact")
    sandbox_clock.advance(600)  # past the signal's lockout
    clock.advance(minutes=5)

    again = run_scheduled(sync_runtime, host, clock, "globex", INGRESS)

    assert again.status is AuditStatus.COMPLETED, again.message
    assert again.counts.created == CONTACTS  # the file's rows, imported again
    files = [result.file for result in workflow.imports["signal"].results]
    assert len(files) == 2 and files[0] != files[1]
    assert len(adobe_sandbox.state.profiles()) == CONTACTS
