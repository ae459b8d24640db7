"""`accounts add | show | edit | disable | enable | test` as an operator types them, against
Azurite and the Dotdigital sandbox."""

from __future__ import annotations

import pytest

from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.cli.test_cli import BAD_INPUT, CONFLICT, FATAL, NOT_FOUND, error_line, invoke
from tests.fixtures.sync_runtime import PASSWORD_SETTING


def test_add_then_show_an_account_with_its_defaults(sync_runtime: Runtime) -> None:
    code, out = invoke(
        "accounts", "add", "globex", "--name", "Globex newsletters",
        "--api-user", "apiuser-globex@example.invalid", "--password-setting", "GLOBEX_PASSWORD",
    )  # fmt: skip
    assert code == 0, out
    assert "accounts test globex" in out  # the next step, a command that exists

    code, out = invoke("accounts", "show", "globex")
    assert code == 0, out
    assert "Globex newsletters" in out and "GLOBEX_PASSWORD" in out and "Enabled" in out
    code, out = invoke("mappings", "list", "globex")
    assert "emailaddress1" in out  # provisioned with the default mappings

    code, out = invoke(
        "accounts", "add", "globex", "--name", "Again", "--api-user", "x@example.invalid",
        "--password-setting", "GLOBEX_PASSWORD",
    )  # fmt: skip
    assert code == CONFLICT
    assert "already exists" in error_line(out) and "accounts edit globex" in out


def test_an_invalid_account_id_is_one_line(sync_runtime: Runtime) -> None:
    code, out = invoke(
        "accounts", "add", "no spaces", "--name", "N", "--api-user", "u@example.invalid",
        "--password-setting", "P",
    )  # fmt: skip
    assert code == BAD_INPUT and "account_id" in error_line(out)


def test_edit_changes_only_what_is_given(sync_runtime: Runtime, acme: EmailAccount) -> None:
    code, out = invoke(
        "accounts", "edit", "acme", "--description", "Spring campaigns",
        "--no-update-do-not-bulk-email", "--campaign-sync-level", "Detailed",
    )  # fmt: skip
    assert code == 0, out
    stored = sync_runtime.accounts.get("acme")
    assert stored is not None
    assert (stored.name, stored.description) == ("Acme newsletters", "Spring campaigns")
    assert not stored.update_do_not_bulk_email
    assert stored.campaign_sync_level.value == "Detailed"


def test_disable_stops_sync_now_and_enable_allows_it(
    sync_runtime: Runtime, acme: EmailAccount
) -> None:
    assert invoke("accounts", "disable", "acme")[0] == 0
    code, out = invoke("sync-now", "acme", "CrmMetadata")
    assert code == CONFLICT and "disabled" in out
    assert invoke("accounts", "enable", "acme")[0] == 0
    code, out = invoke("sync-now", "acme", "CrmMetadata")
    assert code == 0 and "added to the queue" in out
    assert sync_runtime.schedules.get("acme", SyncType.CRM_METADATA).run_id


def test_test_connection_succeeds_with_the_stored_credentials(
    sync_runtime: Runtime, acme: EmailAccount
) -> None:
    code, out = invoke("accounts", "test", "acme")
    assert code == 0, out
    assert "Connection succeeded. Connected to Dotdigital as" in out


def test_test_connection_reports_the_platforms_refusal(
    sync_runtime: Runtime, acme: EmailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_SETTING, "not-the-password")
    code, out = invoke("accounts", "test", "acme")
    assert code == FATAL
    assert out.startswith("Connection failed: ") and "401" in out


def test_test_connection_names_a_missing_password_setting(
    sync_runtime: Runtime, acme: EmailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_SETTING)
    code, out = invoke("accounts", "test", "acme")
    assert code == FATAL and PASSWORD_SETTING in out


def test_test_connection_names_a_password_setting_left_as_a_key_vault_reference(
    sync_runtime: Runtime, acme: EmailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the platform leaves in the setting when it cannot read the secret.
    monkeypatch.setenv(PASSWORD_SETTING, "@Microsoft.KeyVault(VaultName=kv-dms;SecretName=acme)")
    code, out = invoke("accounts", "test", "acme")
    assert code == FATAL
    assert f"App setting {PASSWORD_SETTING} (vault 'kv-dms', secret 'acme') named by" in out
    assert "is still a Key Vault reference" in out and "401" not in out


def test_an_unknown_account_is_named(sync_runtime: Runtime, acme: EmailAccount) -> None:
    for command in (("accounts", "show"), ("accounts", "test"), ("accounts", "disable")):
        code, out = invoke(*command, "nosuch")
        assert code == NOT_FOUND
        assert error_line(out).startswith("Error: No email account 'nosuch'")
