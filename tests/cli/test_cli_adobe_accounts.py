"""`accounts add --platform AdobeCampaign`, `accounts show` and `accounts test` for an Adobe
Campaign account, against Azurite and the ACS sandbox."""

from __future__ import annotations

import pytest

from shared.accounts import EmailAccount
from shared.runtime import Runtime
from tests.cli.test_cli import BAD_INPUT, FATAL, error_line, invoke
from tests.fixtures.sandboxes import AdobeSandbox
from tests.fixtures.sync_runtime import ACS_SECRET_SETTING


def test_add_then_show_then_test_an_adobe_account(
    sync_runtime: Runtime, adobe_sandbox: AdobeSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ACS_SECRET_SETTING, adobe_sandbox.client_secret.get_secret_value())
    code, out = invoke(
        "accounts", "add", "initech", "--name", "Initech campaigns",
        "--platform", "AdobeCampaign", "--organization", adobe_sandbox.state.organization,
        "--client-id", adobe_sandbox.client_id, "--client-secret-setting", ACS_SECRET_SETTING,
        "--scopes", adobe_sandbox.scopes, "--base-url", adobe_sandbox.base_url,
        "--ims-url", adobe_sandbox.ims_url,
    )  # fmt: skip
    assert code == 0, out
    assert "accounts test initech" in out
    code, out = invoke("accounts", "show", "initech")
    assert code == 0, out
    assert "AdobeCampaign" in out and ACS_SECRET_SETTING in out
    assert adobe_sandbox.client_secret.get_secret_value() not in out
    code, out = invoke("accounts", "test", "initech")
    assert code == 0, out
    assert "Connection succeeded. Connected to Adobe Campaign at" in out


def test_an_adobe_account_without_its_settings_is_one_line_naming_them(
    sync_runtime: Runtime,
) -> None:
    code, out = invoke(
        "accounts", "add", "initech", "--name", "I", "--platform", "AdobeCampaign",
        "--organization", "initechorg",
    )  # fmt: skip
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: An Adobe Campaign account needs --client-id, --client-secret-setting, --scopes"
    )
    code, out = invoke(
        "accounts", "add", "initech", "--name", "I", "--platform", "AdobeCampaign",
        "--organization", "initechorg", "--client-id", "abc", "--client-secret-setting", "S",
        "--scopes", "openid", "--base-url", "https://mc.adobe.io/otherorg/campaign",
    )  # fmt: skip
    assert code == BAD_INPUT and "not the organization's" in error_line(out)
    code, out = invoke("accounts", "add", "dd", "--name", "D")
    assert code == BAD_INPUT and "--api-user and --password-setting" in error_line(out)
    assert sync_runtime.accounts.get("initech") is None


def test_test_connection_reports_a_refused_client_secret(
    sync_runtime: Runtime, globex: EmailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ACS_SECRET_SETTING, "not-the-secret")
    code, out = invoke("accounts", "test", "globex")
    assert code == FATAL
    assert out.startswith("Connection failed: Adobe IMS refused")
    assert "invalid_client" in out and "\n" not in out.strip()


def test_edit_changes_the_adobe_settings_given_and_keeps_their_rules(
    sync_runtime: Runtime, globex: EmailAccount, acme: EmailAccount
) -> None:
    code, out = invoke("accounts", "edit", "globex", "--scopes", "openid,campaign_sdk")
    assert code == 0, out
    stored = sync_runtime.accounts.get("globex")
    assert stored is not None and stored.adobe is not None and globex.adobe is not None
    assert stored.adobe.scopes == "openid,campaign_sdk"
    assert stored.adobe.client_id == globex.adobe.client_id  # not given: kept
    code, out = invoke("accounts", "edit", "globex", "--base-url", "http://mc.adobe.io/x/campaign")
    assert code == BAD_INPUT and "https URL" in error_line(out)
    code, out = invoke("accounts", "edit", "acme", "--client-id", "abc")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: Email account 'acme' is not an Adobe Campaign account: --client-id apply to "
        "Adobe Campaign accounts only"
    )


def test_the_accounts_list_shows_an_adobe_accounts_client_id(
    sync_runtime: Runtime, globex: EmailAccount
) -> None:
    code, out = invoke("accounts", "list")
    assert code == 0, out
    assert globex.adobe is not None and globex.adobe.client_id in out
