"""The function app refuses to start on a setting the platform left as a Key Vault reference,
and says which one and what to check, where the host's startup log shows it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from shared.azurite import PROJECT_ROOT
from shared.errors import ConfigurationError
from shared.startup import check_app_settings

REFERENCE = "@Microsoft.KeyVault(VaultName=kv-dms;SecretName=dataverse-client-secret)"


def _import_function_app(**settings: str) -> subprocess.CompletedProcess[str]:
    """Import function_app.py in a fresh interpreter, as the Python worker does at start."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **settings}
    return subprocess.run(
        [sys.executable, "-c", "import function_app"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_app_does_not_start_with_a_product_setting_left_as_a_reference() -> None:
    started = _import_function_app()
    assert started.returncode == 0, started.stderr

    refused = _import_function_app(DATAVERSE_CLIENT_SECRET=REFERENCE)
    assert refused.returncode != 0
    last_line = refused.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "shared.errors.ConfigurationError: App setting DATAVERSE_CLIENT_SECRET "
        "(vault 'kv-dms', secret 'dataverse-client-secret') is still a Key Vault reference"
    )


def test_the_start_check_names_an_unresolved_product_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", REFERENCE)
    with pytest.raises(ConfigurationError, match="App setting AzureWebJobsStorage "):
        check_app_settings()


def test_an_account_password_left_as_a_reference_is_logged_and_the_app_starts(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # One account's password must not stop every other account: its runs fail, saying so.
    monkeypatch.setenv("EMEA_DOTDIGITAL_PASSWORD", REFERENCE.replace("dataverse-client", "emea"))
    with caplog.at_level(logging.ERROR, logger="shared.startup"):
        check_app_settings()

    (record,) = caplog.records
    assert record.getMessage().startswith(
        "App setting EMEA_DOTDIGITAL_PASSWORD (vault 'kv-dms', secret 'emea-secret') is still a "
        "Key Vault reference"
    )
    assert "email accounts whose password setting it is cannot sync" in record.getMessage()
