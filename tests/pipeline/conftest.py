"""A runtime wired to Azurite and to both sandboxes, and the local host around it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.clients import RetryPolicy
from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.runtime import Runtime, install_runtime
from shared.settings import Settings
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox

PASSWORD_SETTING = "ACME_DOTDIGITAL_PASSWORD"


def sync_settings(settings: Settings, sandboxes: Sandboxes, **overrides: str) -> Settings:
    assert settings.storage_connection_string is not None
    values = {
        "AzureWebJobsStorage": settings.storage_connection_string.get_secret_value(),
        "SYNC_QUEUE_BACKEND": settings.queue_backend.value,
        "SYNC_QUEUE_NAME": settings.queue_name,
        "TABLE_PREFIX": settings.table_prefix,
        **sandboxes.settings_env(),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def sync_runtime(
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
    retry_policy: RetryPolicy,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    monkeypatch.setenv(PASSWORD_SETTING, sandboxes.credentials.api_password)
    rt = Runtime(sync_settings(settings, sandboxes), clock=clock, retry=retry_policy)
    install_runtime(rt)
    try:
        yield rt
    finally:
        install_runtime(None)


@pytest.fixture
def acme(sync_runtime: Runtime, sandboxes: Sandboxes) -> EmailAccount:
    account = EmailAccount(
        account_id="acme",
        name="Acme newsletters",
        api_user=sandboxes.credentials.api_user,
        api_password_secret_name=PASSWORD_SETTING,
    )
    sync_runtime.accounts.save(account)
    return account


@pytest.fixture
def host(sync_runtime: Runtime) -> LocalHost:
    return build_host(sync_runtime, visibility=timedelta(seconds=2), max_deliveries=3)
