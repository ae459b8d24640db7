"""The README's admin API examples, run as written with curl (in order) against the local host
serving the function app, with the demo account provisioned as `make demo` does."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from sandbox.launch import Sandboxes
from shared.cli import demo
from shared.localhost.host import LocalHost
from shared.runtime import Runtime

README = Path(__file__).resolve().parents[2] / "README.md"
LOCAL = "http://127.0.0.1:7071"


def readme_curls() -> list[str]:
    return re.findall(r"^curl -s .*" + re.escape(LOCAL) + r".*$", README.read_text(), re.M)


def test_the_readme_shows_the_core_routes() -> None:
    text = "\n".join(readme_curls())
    for route in ("/accounts", "/schedules", "/sync-now", "/audit", "/labels", "/health"):
        assert route in text


def test_every_readme_curl_runs_as_written(
    sync_runtime: Runtime,
    sandboxes: Sandboxes,
    api_host: LocalHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(demo.PASSWORD_SETTING, sandboxes.credentials.api_password)
    demo._provision(sync_runtime, sandboxes.credentials.api_user)
    for line in readme_curls():
        args = shlex.split(line.replace(LOCAL, api_host.base_url))
        done = subprocess.run(
            [*args, "-w", "\n%{http_code}"], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (line, done.stderr)
        body, status = done.stdout.rsplit("\n", 1)
        if "nosuch" in line:  # the README's example of an error
            assert status == "404"
            assert json.loads(body)["detail"] == "No email account 'nosuch' (known accounts: demo)."
        else:
            assert status.startswith("2"), (line, status, body)
            json.loads(body)
