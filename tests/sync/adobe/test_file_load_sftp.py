"""The initial transfer by file over SFTP, against the Dataverse and ACS sandboxes, Azurite and
an asyncssh SFTP server: complete, killed after a part and resumed on a fresh runtime, killed
between an upload and its record, the signal's lockout, a wrong host key or password."""

from __future__ import annotations

import asyncssh
import pytest

from sandbox.adobe.state import Workflow
from sandbox.clock import ManualClock
from shared.accounts import EmailAccount
from shared.clients.adobe import SignalLockedOut
from shared.errors import AuthenticationError, ConfigurationError
from shared.runtime import Runtime
from shared.storage.adobe_file_drop import FileDropSettings, SftpDestination
from shared.sync.adobe.file_load_progress import FileLoadProgress, LoadStatus
from tests.fixtures.filedrop import SftpServer
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.sync.adobe.file_load_world import (
    Transfer,
    add_contacts,
    profile_mapping,
    sftp_import_workflow,
)

WORKFLOW_ID = "WKF_D365_LOAD"
PASSWORD_SETTING = "FILEDROP_TEST_SFTP_PASSWORD"
CONTACTS = 2500
PART_SIZE = 64 * 1024  # the smallest part: three parts from 2,500 contacts


class Killed(BaseException):
    """The process dying: nothing in the product catches it."""


def sftp_settings(
    server: SftpServer, *, folder: str = "d365_loads", **changes: object
) -> FileDropSettings:
    destination = SftpDestination(
        host=server.host, port=server.port, username=server.username, folder=folder,
        host_key=server.host_key.strip(), password_setting=PASSWORD_SETTING,
    )  # fmt: skip
    values: dict[str, object] = {
        "destination": destination, "workflow_id": "WKF_D365_LOAD", "part_size": PART_SIZE,
    }  # fmt: skip
    values.update(changes)
    return FileDropSettings.model_validate(values)


@pytest.fixture
def world(
    sync_runtime: Runtime,
    globex: EmailAccount,
    sftp_server: SftpServer,
    dataverse_sandbox: DataverseSandbox,
    adobe_sandbox: AdobeSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Transfer:
    monkeypatch.setenv(PASSWORD_SETTING, sftp_server.password)
    add_contacts(dataverse_sandbox, CONTACTS)
    return Transfer(sync_runtime, globex, sftp_settings(sftp_server), profile_mapping())


@pytest.fixture
def workflow(adobe_sandbox: AdobeSandbox, sftp_server: SftpServer) -> Workflow:
    return sftp_import_workflow(adobe_sandbox, sftp_server)


def remote(server: SftpServer, name: str, folder: str = "d365_loads") -> bytes:
    return (server.root / folder / name).read_bytes()


def contact_ids(dataverse: DataverseSandbox) -> set[str]:
    return set(dataverse.state.table("contact").ids_after(None))


def test_a_table_arrives_in_campaign_through_the_file_and_the_signal(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer,
    adobe_sandbox: AdobeSandbox, dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    outcome = world.run()

    assert outcome.parts >= 3 and outcome.rows == CONTACTS and outcome.rejected == []
    lines = remote(sftp_server, outcome.remote_name).decode().splitlines()
    assert lines[0] == "externalId\temail\tfirstName\tlastName"
    assert len(lines) == CONTACTS + 1
    assert not list((sftp_server.root / "d365_loads").glob(".*uploading"))
    [trigger] = adobe_sandbox.state.triggers
    assert trigger.parameters == {"fileName": outcome.remote_name, "rows": CONTACTS}
    [result] = workflow.imports["signal"].results
    assert (result.rows, result.created, result.error) == (CONTACTS, CONTACTS, None)
    profiles = adobe_sandbox.state.profiles()
    assert {p["externalId"] for p in profiles} == contact_ids(dataverse_sandbox)
    # The delta link continues with changes made after the read.
    changed = next(iter(contact_ids(dataverse_sandbox)))
    dataverse_sandbox.state.update("contact", changed, {"firstname": "Changed"})
    feed = world.rt.dataverse().read_changes("contacts", world.job().select, outcome.delta_link)
    assert [r["contactid"] for page in feed for r in page.upserts] == [changed]


def test_a_transfer_killed_after_a_part_resumes_on_a_fresh_runtime_with_the_missing_parts(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer, adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    reference = Transfer(
        world.rt, world.account, sftp_settings(sftp_server, folder="reference"), world.mapping
    )
    expected = remote(sftp_server, reference.run().remote_name, folder="reference")
    world.rt.repository(FileLoadProgress).reset(world.account.account_id, "contact")
    adobe_sandbox.state.triggers.clear()
    workflow.last_trigger.clear()
    sftp_server.writes.clear()

    world.run_until_killed(2)  # two parts uploaded and recorded, then the worker died
    state = world.rt.repository(FileLoadProgress).load("globex", "contact")
    assert state is not None and state.parts == 2
    written_before = sum(length for _, _, length in sftp_server.writes)
    before = len(sftp_server.writes)

    fresh = Runtime(world.rt.settings, clock=world.rt.clock, retry=world.rt.retry)
    outcome = Transfer(fresh, world.account, world.settings, world.mapping).run()

    assert outcome.sent_parts == list(range(3, outcome.parts + 1))
    assert min(offset for _, offset, _ in sftp_server.writes[before:]) == state.size
    assert sum(length for _, _, length in sftp_server.writes) == len(expected)
    assert written_before == state.size
    assert remote(sftp_server, outcome.remote_name) == expected
    assert len(adobe_sandbox.state.triggers) == 1
    assert len(adobe_sandbox.state.profiles()) == CONTACTS


def test_a_part_uploaded_but_not_recorded_is_written_again_at_its_offset(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer, adobe_sandbox: AdobeSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    progress = world.rt.repository(FileLoadProgress)
    record = progress.record_part

    def die_at_part_two(account_id: str, state: object, part: object) -> None:
        if part.number == 2:
            raise Killed
        record(account_id, state, part)  # type: ignore[arg-type]

    monkeypatch.setattr(progress, "record_part", die_at_part_two)
    with pytest.raises(Killed):
        world.run()
    monkeypatch.setattr(progress, "record_part", record)

    outcome = world.run()

    assert outcome.sent_parts[0] == 2
    lines = remote(sftp_server, outcome.remote_name).decode().splitlines()
    assert len(lines) == CONTACTS + 1 and len(set(lines)) == CONTACTS + 1
    assert len(adobe_sandbox.state.profiles()) == CONTACTS


def test_a_locked_out_signal_waits_for_the_next_run_without_uploading_again(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer, adobe_sandbox: AdobeSandbox,
    sandbox_clock: ManualClock,
) -> None:  # fmt: skip
    # Someone triggered the workflow a minute ago: Campaign allows one trigger per 10 minutes.
    world.rt.adobe_client(world.account).trigger_signal(WORKFLOW_ID, "signal", source="someone")

    with pytest.raises(SignalLockedOut, match="locked out"):
        world.run()
    state = world.rt.repository(FileLoadProgress).load("globex", "contact")
    assert state is not None and state.status is LoadStatus.UPLOADED
    assert adobe_sandbox.state.profiles() == []
    writes = len(sftp_server.writes)

    sandbox_clock.advance(600)
    outcome = world.run()

    assert outcome.sent_parts == [] and len(sftp_server.writes) == writes
    assert len(adobe_sandbox.state.profiles()) == CONTACTS
    state = world.rt.repository(FileLoadProgress).load("globex", "contact")
    assert state is not None and state.status is LoadStatus.SIGNALLED
    assert world.run().sent_parts == []  # done: a further call changes nothing
    assert len(adobe_sandbox.state.triggers) == 2


def test_a_server_showing_another_host_key_is_refused_by_name(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer,
) -> None:  # fmt: skip
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    settings = sftp_settings(sftp_server)
    destination = settings.destination.model_copy(update={"host_key": other})
    world.settings = settings.model_copy(update={"destination": destination})

    with pytest.raises(ConfigurationError) as refused:
        world.run()
    assert str(refused.value) == (
        f"SFTP server 127.0.0.1:{sftp_server.port} showed a host key other than the configured one"
    )


def test_a_wrong_password_names_the_server_and_user(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(PASSWORD_SETTING, "not-the-password")
    with pytest.raises(AuthenticationError, match=r"refused user 'campaign' \(password\)"):
        world.run()


def test_a_value_the_file_cannot_carry_is_handed_back_for_the_api(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer,
    dataverse_sandbox: DataverseSandbox,
) -> None:  # fmt: skip
    odd = dataverse_sandbox.state.insert(
        "contact", {"firstname": "Tab\there", "lastname": "Odd", "emailaddress1": "odd@x.test"}
    )
    outcome = world.run()

    assert [(r.key, r.column) for r in outcome.rejected] == [(odd, "firstName")]
    assert odd.encode() not in remote(sftp_server, outcome.remote_name)
    assert outcome.rows == CONTACTS


def test_a_private_key_from_an_app_setting_with_escaped_line_breaks_signs_in(
    world: Transfer, workflow: Workflow, sftp_server: SftpServer,
    adobe_sandbox: AdobeSandbox, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # An app setting holds one line: the key's line breaks written as the two characters \n.
    monkeypatch.setenv("FILEDROP_TEST_SFTP_KEY", sftp_server.client_key.replace("\n", "\\n"))
    destination = world.settings.destination.model_copy(
        update={"password_setting": None, "private_key_setting": "FILEDROP_TEST_SFTP_KEY"}
    )
    world.settings = world.settings.model_copy(update={"destination": destination})
    monkeypatch.delenv(PASSWORD_SETTING)

    outcome = world.run()

    assert outcome.rows == CONTACTS
    assert len(adobe_sandbox.state.profiles()) == CONTACTS
