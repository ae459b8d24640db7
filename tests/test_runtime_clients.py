"""The runtime's platform clients: one connect per account however many threads ask, and a
connect that failed is tried again by the next caller (never kept as the account's client)."""

from __future__ import annotations

import threading

import pytest

from sandbox.dotdigital.app import ACCOUNT_INFO
from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.clients import DotdigitalClient
from shared.errors import RetriesExhausted
from shared.runtime import Runtime
from shared.settings import Settings
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.conftest import PASSWORD_SETTING, sync_settings


@pytest.fixture
def runtime_on_sandboxes(
    settings: Settings,
    sandboxes: Sandboxes,
    dotdigital_sandbox: DotdigitalSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    monkeypatch.setenv(PASSWORD_SETTING, sandboxes.credentials.api_password)
    return Runtime(
        sync_settings(settings, sandboxes, HTTP_MAX_RETRIES="1", HTTP_MAX_WAIT_SECONDS="0.01")
    )


def account(sandboxes: Sandboxes) -> EmailAccount:
    return EmailAccount(
        account_id="acme",
        name="Acme newsletters",
        api_user=sandboxes.credentials.api_user,
        api_password_secret_name=PASSWORD_SETTING,
    )


def test_threads_asking_for_one_accounts_client_connect_once(
    runtime_on_sandboxes: Runtime, sandboxes: Sandboxes, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.faults.latency_seconds = 0.2  # the threads overlap in the connect
    acme = account(sandboxes)
    clients: list[object] = []

    def ask() -> None:
        clients.append(runtime_on_sandboxes.platform_client(acme))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(clients) == 4 and all(c is clients[0] for c in clients)
    assert isinstance(clients[0], DotdigitalClient)
    assert dotdigital_sandbox.state.counters.count("GET", ACCOUNT_INFO) == 1


def test_a_failed_connect_is_tried_again_by_the_next_caller(
    runtime_on_sandboxes: Runtime, sandboxes: Sandboxes, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    acme = account(sandboxes)
    state = dotdigital_sandbox.state
    state.fail_user(acme.api_user, 503)
    with pytest.raises(RetriesExhausted, match="503"):
        runtime_on_sandboxes.platform_client(acme)

    state.failing_users.clear()  # Dotdigital is back

    client = runtime_on_sandboxes.platform_client(acme)
    assert isinstance(client, DotdigitalClient)
    assert runtime_on_sandboxes.platform_client(acme) is client
    assert state.counters.count("GET", ACCOUNT_INFO) == 3  # 2 failed attempts, 1 connect
