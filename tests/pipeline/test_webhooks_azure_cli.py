"""`webhooks register` signed in through the Azure CLI (DATAVERSE_CREDENTIAL=AzureCli), as the
deploy workflow's provisioning job and operators do: the identity that registers is not the
connector, so the organization is recorded with the application user of DATAVERSE_CLIENT_ID
(whose own writes the endpoint must ignore), not with whoever signed in. A stand-in `az` on
PATH hands out a token the Dataverse sandbox issued."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.dataverse.records import SANDBOX_USER_ID
from sandbox.launch import Sandboxes
from shared.clients import RetryPolicy
from shared.clients.dataverse import MsalTokenProvider
from shared.errors import AuthenticationError, ConfigurationError
from shared.pipeline.webhook_registration import register
from shared.runtime import Runtime, install_runtime
from shared.settings import Settings
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox
from tests.pipeline.conftest import sync_settings

URL = "https://connector.example.invalid/api/dynamics/webhook"
KEY = "sandbox-webhook-key-for-tests"  # not a secret: what the tests' endpoint expects
CONNECTOR_APP = "5b0c6a8e-2f4d-4c1a-9e3b-7d6f5a4c3b21"
CONNECTOR_USER = "5b0c6a8e-2f4d-4c1a-9e3b-000000000001"

FAKE_AZ = """#!{python}
import json, sys, time
# az account get-access-token ... --output json: the token the test wrote, an hour's life.
token = open({token_file!r}).read().strip()
expires = int(time.time()) + 3600
local = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(expires))
print(json.dumps({{"accessToken": token, "expires_on": expires, "tokenType": "Bearer",
                   "expiresOn": local}}))
"""


@pytest.fixture
def fake_az(tmp_path: Path, dataverse_sandbox: DataverseSandbox,
            monkeypatch: pytest.MonkeyPatch) -> Path:  # fmt: skip
    """`az` on PATH answering with a sandbox token (as `az login` would have left one)."""
    with httpx.Client(verify=dataverse_sandbox.ssl_context) as http:
        token = MsalTokenProvider(
            dataverse_sandbox.tenant_id, dataverse_sandbox.client_id,
            dataverse_sandbox.client_secret, org_url=dataverse_sandbox.org_url,
            authority_host=dataverse_sandbox.authority_host, http_client=http,
        ).token()  # fmt: skip
    (tmp_path / "token").write_text(token)
    az = tmp_path / "bin" / "az"
    az.parent.mkdir()
    az.write_text(FAKE_AZ.format(python=sys.executable, token_file=str(tmp_path / "token")))
    az.chmod(az.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{az.parent}{os.pathsep}{os.environ['PATH']}")
    return az


@pytest.fixture
def cli_runtime(settings: Settings, sandboxes: Sandboxes, clock: ManualClock,
                retry_policy: RetryPolicy, fake_az: Path) -> Iterator[Runtime]:  # fmt: skip
    rt = Runtime(
        sync_settings(settings, sandboxes, DYNAMICS_WEBHOOK_KEY=KEY,
                      DATAVERSE_CREDENTIAL="AzureCli", DATAVERSE_CLIENT_ID=CONNECTOR_APP,
                      DATAVERSE_CLIENT_SECRET="", DATAVERSE_TENANT_ID=""),
        clock=clock, retry=retry_policy,
    )  # fmt: skip
    install_runtime(rt)
    yield rt
    install_runtime(None)


def _add_connector_user(sandbox: DataverseSandbox) -> None:
    sandbox.state.insert(
        "systemuser",
        {"systemuserid": CONNECTOR_USER, "fullname": "# Dynamics Marketing Sync",
         "applicationid": CONNECTOR_APP, "isdisabled": False},
    )  # fmt: skip


def test_the_connector_s_application_user_is_recorded_not_the_one_who_signed_in(
    cli_runtime: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    _add_connector_user(dataverse_sandbox)

    outcome = register(cli_runtime, URL)

    assert outcome.steps > 0
    (row,) = cli_runtime.webhook_registrations.all()
    assert row.connector_user_id == CONNECTOR_USER
    assert row.connector_user_id != SANDBOX_USER_ID  # WhoAmI: the identity az signed in as
    assert dataverse_sandbox.state.tables["serviceendpoint"].rows  # registered as that identity


def test_a_connector_app_without_an_application_user_stops_before_any_change(
    cli_runtime: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        register(cli_runtime, URL)

    assert str(raised.value).endswith(
        f"has no application user for the app {CONNECTOR_APP} (DATAVERSE_CLIENT_ID): create it "
        "in the Power Platform admin center (README, Running against a real Dynamics org, step "
        "1), then register again"
    )
    assert not dataverse_sandbox.state.tables["serviceendpoint"].rows
    assert cli_runtime.webhook_registrations.all() == []


def test_without_a_signed_in_azure_cli_the_error_says_to_sign_in(
    cli_runtime: Runtime, fake_az: Path
) -> None:
    fake_az.write_text(
        "#!/bin/sh\necho 'ERROR: Please run az login to setup account.' >&2\nexit 1\n"
    )

    with pytest.raises(AuthenticationError) as raised:
        register(cli_runtime, URL)

    message = str(raised.value)
    assert message.startswith("The Azure CLI gave no token for https://")
    assert "Sign in with `az login`" in message
