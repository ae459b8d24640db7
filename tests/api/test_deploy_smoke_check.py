"""The deploy workflow's smoke check (.ci/smoke_check.py) against the function app on the local
host: it passes on a healthy app, and fails, naming what is wrong, when a function is missing
or an account cannot sign in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from sandbox.launch import Sandboxes
from shared.azurite import PROJECT_ROOT
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from tests.api.conftest import acme_body

SCRIPT = PROJECT_ROOT / ".ci" / "smoke_check.py"
FUNCTIONS = ["admin_api", "audit_purge", "dynamics_webhook", "scheduler_tick", "sync_worker"]


def _smoke(host: LocalHost, tmp_path: Path, *args: str, listed: list[Any] | None = None,
           webhook_key: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    # What `az functionapp function list` answers: one object per function, named <app>/<fn>.
    (tmp_path / "listed.json").write_text(
        json.dumps(listed if listed is not None else [{"name": f"app/{f}"} for f in FUNCTIONS])
    )
    (tmp_path / "expected.json").write_text(json.dumps(FUNCTIONS))
    env = {**os.environ, "SMOKE_FUNCTION_KEY": "not-checked-locally"}
    env.pop("SMOKE_WEBHOOK_KEY", None)
    if webhook_key is not None:
        env["SMOKE_WEBHOOK_KEY"] = webhook_key
        args = (*args, "--webhook")
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", host.base_url,
         "--functions-listed", str(tmp_path / "listed.json"),
         "--functions-expected", str(tmp_path / "expected.json"),
         "--wait-seconds", "5", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_a_healthy_app_passes_and_signs_in_with_the_first_account(
    api_host: LocalHost, acme_api: dict[str, Any], tmp_path: Path
) -> None:
    result = _smoke(api_host, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   functions listed: admin_api, audit_purge")
    assert lines[1] == "ok   GET /api/admin/health: 200 ok"
    assert lines[2].startswith("ok   Test Connection of 'acme': ")


def test_a_function_the_host_did_not_index_fails_the_check_by_name(
    api_host: LocalHost, acme_api: dict[str, Any], tmp_path: Path
) -> None:
    listed = [{"name": f"app/{f}"} for f in FUNCTIONS if f != "sync_worker"]

    result = _smoke(api_host, tmp_path, listed=listed)

    assert result.returncode == 1
    assert "FAIL functions missing from the app: sync_worker" in result.stdout
    assert "ok   GET /api/admin/health: 200 ok" in result.stdout  # the other checks still ran


def test_an_account_the_platform_refuses_fails_with_the_platform_s_words(
    api_host: LocalHost, api: httpx.Client, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    body = {**acme_body(sandboxes), "account_id": "wrong", "api_user": "nobody@example.com"}
    assert api.post("/accounts", json=body).status_code == 201

    result = _smoke(api_host, tmp_path, "--account", "wrong")

    assert result.returncode == 1
    failure = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failure) == 1
    assert failure[0].startswith("FAIL Test Connection of 'wrong' failed: ")


def test_an_unknown_account_fails_and_no_account_yet_is_said_not_failed(
    api_host: LocalHost, tmp_path: Path
) -> None:
    fresh = _smoke(api_host, tmp_path)
    unknown = _smoke(api_host, tmp_path, "--account", "nosuch")

    assert fresh.returncode == 0, fresh.stdout
    assert "ok   Test Connection skipped: no email account yet" in fresh.stdout
    assert unknown.returncode == 1
    assert "FAIL Test Connection of 'nosuch': 404 No email account 'nosuch'" in unknown.stdout


def test_an_app_that_does_not_answer_fails_after_the_wait(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", "http://127.0.0.1:9", "--wait-seconds", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 1
    assert "FAIL GET http://127.0.0.1:9/api/admin/health: no answer" in result.stdout
    assert "FAIL GET http://127.0.0.1:9/api/admin/accounts: no answer" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_webhook_takes_the_key_dataverse_is_given_and_a_different_one_fails(
    api_host: LocalHost, sync_runtime: Runtime, tmp_path: Path
) -> None:
    # The app's DYNAMICS_WEBHOOK_KEY (Key Vault in Azure) against the function key the deploy
    # job gives Dataverse. Locally the host takes any key; the app's own check decides.
    sync_runtime.settings.dynamics_webhook_key = SecretStr("the-key-in-key-vault")

    same = _smoke(api_host, tmp_path, webhook_key="the-key-in-key-vault")
    other = _smoke(api_host, tmp_path, webhook_key="a-function-key-set-by-hand")

    assert same.returncode == 0, same.stdout
    assert "ok   POST /api/dynamics/webhook: the app takes the webhook function's key" in (
        same.stdout.splitlines()
    )
    assert other.returncode == 1
    [failure] = [line for line in other.stdout.splitlines() if line.startswith("FAIL")]
    assert failure.startswith("FAIL POST /api/dynamics/webhook: 401 Unauthorized: the key does")
    assert "run Deploy with rotate-webhook-key" in failure
    assert "a-function-key-set-by-hand" not in other.stdout + other.stderr

    # No function key to post with (not set, or the function not indexed): said, not skipped.
    none = _smoke(api_host, tmp_path, webhook_key="")
    assert none.returncode == 1
    assert "FAIL POST /api/dynamics/webhook: no key to post with (SMOKE_WEBHOOK_KEY" in none.stdout
