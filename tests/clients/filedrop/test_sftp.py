"""SFTP uploads against a real SFTP server on a free port: whole, killed and resumed, refused."""

from __future__ import annotations

import gzip
import shutil
import socket
from pathlib import Path

import asyncssh
import pytest
from pydantic import SecretStr

from shared.clients.filedrop import DropRefused, DropUnreachable, ImportFormat, export
from shared.clients.filedrop.manifest import ManifestFile
from shared.clients.filedrop.sftp import SftpDrop, upload
from shared.errors import AuthenticationError, ConfigurationError
from tests.clients.filedrop.staging import Killed, kill_after, local_file, parts_of
from tests.clients.filedrop.test_writer import COLUMNS, people
from tests.fixtures.filedrop import SftpServer


def exported(folder: Path) -> Path:
    export(people(20_000), folder=folder, stem="contacts", columns=COLUMNS, key="contactid",
           format=ImportFormat(gzip=True), part_size=64 * 1024)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return exported(tmp_path_factory.mktemp("export"))


@pytest.fixture
def staged(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the export (its manifest has no upload yet)."""
    return Path(shutil.copytree(template, tmp_path / "staged"))


def drop_for(server: SftpServer, **overrides: object) -> SftpDrop:
    settings: dict[str, object] = {
        "host": server.host, "port": server.port, "username": server.username,
        "private_key": SecretStr(server.client_key), "host_key": server.host_key,
    }  # fmt: skip
    settings.update(overrides)
    return SftpDrop(**settings)  # type: ignore[arg-type]


def test_an_upload_leaves_the_whole_file_under_its_name_and_no_temporary(
    sftp_server: SftpServer, staged: Path
) -> None:
    report = upload(drop_for(sftp_server), staged)

    remote = sftp_server.root / "d365_loads" / "contacts.txt.gz"
    assert remote.read_bytes() == local_file(staged)
    assert gzip.decompress(remote.read_bytes()).count(b"\n") == 20_001  # header + rows
    assert sorted(p.name for p in remote.parent.iterdir()) == ["contacts.txt.gz"]
    assert report.sent == [p.number for p in parts_of(staged)]
    # Run again (a redelivered message): nothing is sent twice.
    sftp_server.writes.clear()
    assert upload(drop_for(sftp_server), staged).sent == []
    assert sftp_server.writes == []


def test_password_auth_works_too(sftp_server: SftpServer, staged: Path) -> None:
    drop = drop_for(
        sftp_server, private_key=None, password=SecretStr(sftp_server.password), folder="in"
    )
    upload(drop, staged)
    assert (sftp_server.root / "in" / "contacts.txt.gz").read_bytes() == local_file(staged)


@pytest.mark.parametrize("killed_after", [1, 3])
def test_a_killed_transfer_resumes_with_the_missing_parts_only(
    sftp_server: SftpServer, staged: Path, template: Path, tmp_path: Path, killed_after: int
) -> None:
    parts = parts_of(staged)
    assert len(parts) > killed_after + 1

    with pytest.raises(Killed):
        upload(drop_for(sftp_server), staged, on_part=kill_after(killed_after))
    folder = sftp_server.root / "d365_loads"
    # The import never sees a half file: only the hidden temporary name exists.
    assert [p.name for p in folder.iterdir()] == [".contacts.txt.gz.uploading"]

    sftp_server.writes.clear()
    report = upload(drop_for(sftp_server), staged)  # a new process: the manifest from disk

    missing = [p for p in parts if p.number > killed_after]
    assert report.sent == [p.number for p in missing]
    assert report.skipped == list(range(1, killed_after + 1))
    assert sftp_server.written_bytes(".contacts.txt.gz.uploading") == sum(p.size for p in missing)
    assert min(offset for _, offset, _ in sftp_server.writes) == sum(
        p.size for p in parts if p.number <= killed_after
    )
    # Byte for byte what an unkilled transfer of the same export leaves.
    unkilled = Path(shutil.copytree(template, tmp_path / "unkilled"))
    upload(drop_for(sftp_server, folder="unkilled"), unkilled)
    assert (folder / "contacts.txt.gz").read_bytes() == (
        sftp_server.root / "unkilled" / "contacts.txt.gz"
    ).read_bytes()


def test_a_connection_cut_in_the_middle_of_a_part_is_retriable_and_resumes_with_that_part(
    sftp_server: SftpServer, staged: Path
) -> None:
    parts = parts_of(staged)
    cut_at = parts[0].size + parts[1].size + parts[2].size // 2  # half of part 3 arrives
    sftp_server.drop_connection_after = cut_at

    with pytest.raises(DropUnreachable, match=r"dropped the connection.* resumes from part 3"):
        upload(drop_for(sftp_server), staged)
    temporary = sftp_server.root / "d365_loads" / ".contacts.txt.gz.uploading"
    assert temporary.stat().st_size == cut_at

    sftp_server.writes.clear()
    report = upload(drop_for(sftp_server), staged)
    assert report.sent == [p.number for p in parts[2:]]
    assert min(offset for _, offset, _ in sftp_server.writes) == parts[0].size + parts[1].size
    assert (sftp_server.root / "d365_loads" / "contacts.txt.gz").read_bytes() == local_file(staged)


def test_parts_recorded_but_gone_from_the_temporary_file_are_sent_again(
    sftp_server: SftpServer, staged: Path
) -> None:
    parts = parts_of(staged)

    with pytest.raises(Killed):
        upload(drop_for(sftp_server), staged, on_part=kill_after(3))
    temporary = sftp_server.root / "d365_loads" / ".contacts.txt.gz.uploading"
    with temporary.open("r+b") as file:  # someone cut it back to part 1
        file.truncate(parts[0].size)

    report = upload(drop_for(sftp_server), staged)
    assert report.sent == [p.number for p in parts[1:]]
    assert (sftp_server.root / "d365_loads" / "contacts.txt.gz").read_bytes() == local_file(staged)


def test_a_part_changed_after_a_kill_is_refused_and_the_file_never_appears(
    sftp_server: SftpServer, staged: Path
) -> None:
    with pytest.raises(Killed):
        upload(drop_for(sftp_server), staged, on_part=kill_after(1))
    last = parts_of(staged)[-1]
    (staged / last.file).write_bytes(b"something else")

    with pytest.raises(DropRefused, match=f"part {last.number} .* no longer matches"):
        upload(drop_for(sftp_server), staged)
    assert not (sftp_server.root / "d365_loads" / "contacts.txt.gz").exists()


def test_a_wrong_key_is_an_authentication_error_naming_server_and_user(
    sftp_server: SftpServer, staged: Path
) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    with pytest.raises(AuthenticationError) as refused:
        upload(drop_for(sftp_server, private_key=SecretStr(other)), staged)
    assert str(refused.value).startswith(
        f"SFTP server {sftp_server.host}:{sftp_server.port} refused user 'campaign' (private key)"
    )


def test_a_wrong_password_is_an_authentication_error(sftp_server: SftpServer, staged: Path) -> None:
    with pytest.raises(AuthenticationError, match=r"refused user 'campaign' \(password\)"):
        upload(drop_for(sftp_server, private_key=None, password=SecretStr("wrong")), staged)


def test_a_server_with_another_host_key_is_not_trusted(
    sftp_server: SftpServer, staged: Path
) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(ConfigurationError, match="host key other than the configured one"):
        upload(drop_for(sftp_server, host_key=stranger), staged)
    assert sftp_server.writes == []


def test_an_unreachable_host_is_retriable_and_says_where(staged: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    drop = SftpDrop(host="127.0.0.1", port=port, username="campaign", password=SecretStr("x"),
                    connect_timeout=5)  # fmt: skip
    with pytest.raises(DropUnreachable, match=f"SFTP server 127.0.0.1:{port} unreachable"):
        upload(drop, staged)


def test_an_unfinished_export_is_not_uploaded(sftp_server: SftpServer, staged: Path) -> None:
    store = ManifestFile(staged)
    manifest = store.load()
    assert manifest is not None
    store.save(manifest.model_copy(update={"complete": False}))
    with pytest.raises(DropRefused, match="did not finish, so there is nothing to upload"):
        upload(drop_for(sftp_server), staged)
