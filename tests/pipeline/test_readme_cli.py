"""The README's operator commands, run as written (in order) against Azurite and the
sandboxes, with the demo account provisioned and its first syncs done as `make demo` does."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox.demo_engagement import seed_demo_engagement
from sandbox.demo_people import seed_demo_list, seed_demo_people
from sandbox.launch import Sandboxes
from shared.audit import AuditStatus
from shared.cli import app as cli
from shared.cli import demo, environment
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.pipeline.helpers import run_scheduled

README = Path(__file__).resolve().parents[2] / "README.md"
PREFIX = ".venv/bin/python -m shared "


def readme_commands() -> list[list[str]]:
    """Every `.venv/bin/python -m shared ...` line of the README (continuations joined)."""
    text = README.read_text().replace("\\\n", " ")
    lines = re.findall(r"^" + re.escape(PREFIX) + r"(.+)$", text, flags=re.MULTILINE)
    return [shlex.split(line) for line in lines]


def test_the_readme_names_the_commands_it_shows() -> None:
    commands = {c[0] for c in readme_commands()}
    assert {"accounts", "schedule", "sync-now", "audit", "labels", "mappings"} <= commands
    pairs = {tuple(c[:2]) for c in readme_commands()}
    assert {("accounts", "add"), ("accounts", "test"), ("labels", "delete"),
            ("mappings", "delete")} <= pairs  # fmt: skip
    assert any("--output" in c for c in readme_commands())
    assert "```python" not in README.read_text()  # accounts are added with the CLI


def readme_account() -> tuple[str, str]:
    """The API user and password setting of the account the README adds (`accounts add`)."""
    add = next(c for c in readme_commands() if c[:2] == ["accounts", "add"])
    return add[add.index("--api-user") + 1], add[add.index("--password-setting") + 1]


def test_every_readme_command_runs_as_written(
    sync_runtime: Runtime, sandboxes: Sandboxes, host: LocalHost, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(demo.PASSWORD_SETTING, sandboxes.credentials.api_password)
    # The account the README adds, known to the Dotdigital sandbox, so `accounts test` signs in.
    api_user, password_setting = readme_account()
    sandboxes.dotdigital.add_api_user(api_user, sandboxes.credentials.api_password)
    monkeypatch.setenv(password_setting, sandboxes.credentials.api_password)
    monkeypatch.setattr(cli, "load_local_settings", lambda: None)
    monkeypatch.setattr(environment, "load_local_settings", lambda: None)  # command groups
    people = seed_demo_people(sandboxes.dataverse, sandboxes.dotdigital)
    seed_demo_list(sandboxes.dataverse, people, demo.ACCOUNT_ID)  # as `make demo` seeds it
    seed_demo_engagement(sandboxes.dotdigital)
    demo._provision(sync_runtime, sandboxes.credentials.api_user)
    for sync_type in demo.DEMO_TYPES:  # what the demo's first minutes leave behind
        run_scheduled(sync_runtime, host, clock, demo.ACCOUNT_ID, sync_type)
    runner = CliRunner()
    for args in readme_commands():
        result = runner.invoke(cli.app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"{shlex.join(args)}\n{result.output}"
        host.drain()  # the demo's host takes queued runs at once
    runs = sync_runtime.audit.recent(demo.ACCOUNT_ID, sync_type=SyncType.DATA_LABELS)
    assert {r.trigger for r in runs} >= {"Manual", "Dry run"}
    # The labels the README adds reached Dotdigital, and the list sync with the new mappings
    # ran (the refused demo label holds nothing back).
    for name in ("SALUTATION", "COMPANY"):
        assert sandboxes.dotdigital.field(name) is not None, name
    # The refused label deleted (the way out): the DataLabels sync after it is Completed.
    assert AuditStatus.COMPLETED in {r.status for r in runs if r.trigger == "Manual"}
    pushes = sync_runtime.audit.recent(demo.ACCOUNT_ID, sync_type=SyncType.MARKETING_LISTS_DATA_OUT)
    [pushed] = [r for r in pushes if r.trigger == "Manual"]
    assert pushed.status is AuditStatus.COMPLETED, pushed.message
    assert pushed.message.startswith("1 marketing list: 3 members sent")  # new mapped values
    # The demo's people, as its closing table shows them: the suppressed ones flagged and
    # listed, opt-in types raised, scores read.
    shown = demo._people_table(sandboxes.dataverse, people)
    cells = [list(column.cells) for column in shown.columns]
    assert list(zip(*cells, strict=True)) == [
        ("ada.lovelace@example.com", "contact", "Allow", "VerifiedDouble", "-", "82 (Hot)"),
        (
            "grace.hopper@example.com",
            "contact",
            "Do Not Allow",
            "Double",
            "HardBounced",
            "8 (Cold)",
        ),
        ("alan.turing@example.com", "lead", "Do Not Allow", "Single", "Unsubscribed", "15 (Cold)"),
        ("katherine.johnson@example.com", "contact", "Allow", "Double", "-", "46 (Warm)"),
    ]
