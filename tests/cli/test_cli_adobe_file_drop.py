"""`adobe file-drop ...` as an administrator types it (Azurite): SFTP or S3, only the names of
the settings holding credentials stored, a pinned host key required, S3's 5 MiB parts, and the
settings read back; a Dotdigital account has none."""

from __future__ import annotations

import json

import pytest

from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.adobe_file_drop import FileDropRepository, SftpDestination
from tests.cli.test_cli import BAD_INPUT, error_line, invoke
from tests.fixtures.adobe_accounts import save_adobe_account

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGj4TestOnlyNotARealServerKey0000000000000"


@pytest.fixture
def acs(sync_runtime: Runtime) -> EmailAccount:
    return save_adobe_account(sync_runtime, "acs")


def test_an_sftp_drop_is_stored_with_setting_names_and_reads_back(
    sync_runtime: Runtime, acs: EmailAccount
) -> None:
    code, out = invoke(
        "adobe", "file-drop", "set", "acs", "--workflow", "WKF12",
        "--sftp-host", "acme.campaign.adobe.com", "--sftp-user", "acme",
        "--sftp-host-key", HOST_KEY, "--sftp-key-setting", "ACME_SFTP_KEY",
        "--threshold", "250000",
    )  # fmt: skip
    assert code == 0, out
    assert "at least 250,000 records start with a file transfer to " in out
    assert "sftp://acme@acme.campaign.adobe.com:22/d365_loads/" in out
    assert "ACME_SFTP_KEY must hold the credentials" in " ".join(out.split())

    stored = sync_runtime.repository(FileDropRepository).load("acs")
    assert stored is not None and isinstance(stored.destination, SftpDestination)
    assert stored.destination.private_key_setting == "ACME_SFTP_KEY"
    assert (stored.workflow_id, stored.signal_activity, stored.threshold) == (
        "WKF12",
        "signal",
        250_000,
    )

    code, out = invoke("adobe", "file-drop", "show", "acs", "--output", "json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["settings"]["destination"]["host_key"] == HOST_KEY and shown["loads"] == []

    code, out = invoke("adobe", "file-drop", "clear", "acs")
    assert code == 0 and "every table's initial sync goes over the API" in out
    assert sync_runtime.repository(FileDropRepository).load("acs") is None


def test_refusals_name_what_is_wrong(acs: EmailAccount, acme: EmailAccount) -> None:
    code, out = invoke("adobe", "file-drop", "set", "acs", "--workflow", "WKF12")
    assert code == BAD_INPUT and error_line(out) == (
        "Error: give either --sftp-host (SFTP) or --s3-bucket (S3)"
    )
    code, out = invoke("adobe", "file-drop", "set", "acs", "--workflow", "WKF12",
                       "--sftp-host", "h.example.com", "--sftp-user", "u",
                       "--sftp-password-setting", "P")  # fmt: skip
    assert code == BAD_INPUT and error_line(out).startswith("Error: --sftp-host-key is required")
    code, out = invoke("adobe", "file-drop", "set", "acs", "--workflow", "WKF12",
                       "--sftp-host", "h.example.com", "--sftp-user", "u",
                       "--sftp-host-key", "not a key", "--sftp-password-setting", "P")  # fmt: skip
    assert code == BAD_INPUT and "host_key: String should match pattern" in error_line(out)
    code, out = invoke("adobe", "file-drop", "set", "acs", "--workflow", "WKF12",
                       "--s3-bucket", "acme-drop", "--part-size-mib", "1")  # fmt: skip
    assert code == BAD_INPUT and "an S3 drop needs a part_size of at least" in error_line(out)
    code, out = invoke("adobe", "file-drop", "set", "acs", "--workflow", "WKF12",
                       "--s3-bucket", "acme-drop", "--s3-key-id-setting", "ONLY_ONE")  # fmt: skip
    assert code == BAD_INPUT and "or neither" in error_line(out)
    code, out = invoke("adobe", "file-drop", "show", "acme")
    assert code == BAD_INPUT and "is a Dotdigital account" in error_line(out)
