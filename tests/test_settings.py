"""Time settings that cannot work together are refused when the app starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings, host_function_timeout


def test_the_defaults_leave_a_slice_inside_its_lease_and_the_host_timeout() -> None:
    settings = Settings()
    assert settings.run_lease_seconds > settings.longest_slice_seconds
    assert settings.longest_slice_seconds <= host_function_timeout()


def test_a_lease_a_slice_can_outlive_is_refused_with_the_sum_it_must_exceed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(RUN_LEASE_SECONDS="300")  # 240 + 121 + 30 = 391 s

    text = str(refused.value)
    assert "RUN_LEASE_SECONDS (300) must be longer than" in text and "(391 s)" in text


def test_a_budget_that_does_not_fit_the_hosts_function_timeout_is_refused() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(RUN_TIME_BUDGET_SECONDS="500", RUN_LEASE_SECONDS="900")

    assert "must fit host.json's functionTimeout (600 s)" in str(refused.value)


def test_function_timeout_is_read_from_host_json(tmp_path: Path) -> None:
    host = tmp_path / "host.json"
    host.write_text('{"version": "2.0", "functionTimeout": "00:05:30"}')
    assert host_function_timeout(host) == 330.0
    host.write_text('{"version": "2.0"}')
    assert host_function_timeout(host) == 600.0  # the Consumption plan's default


def test_the_example_local_settings_are_accepted() -> None:
    example = Path(__file__).resolve().parent.parent / "local.settings.example.json"
    values = json.loads(example.read_text())["Values"]
    settings = Settings(**values)
    assert settings.run_lease_seconds > settings.longest_slice_seconds


def test_a_setting_still_holding_an_unresolved_key_vault_reference_is_refused() -> None:
    # The platform leaves the reference text in place when it cannot resolve it.
    with pytest.raises(ConfigurationError) as refused:
        Settings(
            DATAVERSE_CLIENT_SECRET="@Microsoft.KeyVault(VaultName=kv-dms;SecretName=dv-secret)"
        )

    text = str(refused.value)
    assert text.startswith("App setting DATAVERSE_CLIENT_SECRET (vault 'kv-dms', secret ")
    assert "'dv-secret') is still a Key Vault reference" in text
    assert "Key Vault Secrets User role" in text and "restart the app" in text
    assert "\n" not in text


def test_every_unresolved_reference_and_every_invalid_value_are_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(
            DYNAMICS_WEBHOOK_KEY="@Microsoft.KeyVault(SecretUri=https://kv-dms.vault.azure.net/secrets/hook/)",
            RUN_LEASE_SECONDS="@microsoft.keyvault(VaultName=kv-dms;SecretName=lease)",
            HTTP_MAX_RETRIES="lots",
        )

    text = str(refused.value)
    assert "DYNAMICS_WEBHOOK_KEY (vault 'kv-dms', secret 'hook')" in text
    # A number left as a reference is named as one, not as "not a valid number".
    assert "RUN_LEASE_SECONDS (vault 'kv-dms', secret 'lease')" in text
    assert "are still Key Vault references" in text
    assert "Invalid app settings: HTTP_MAX_RETRIES" in text and "lots" not in text


def test_a_reference_without_a_vault_and_secret_says_to_fix_its_syntax() -> None:
    with pytest.raises(ConfigurationError, match=r"DATAVERSE_CLIENT_SECRET .*fix its syntax"):
        Settings(DATAVERSE_CLIENT_SECRET="@Microsoft.KeyVault(kv-dms/dv-secret)")
