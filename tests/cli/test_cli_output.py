"""What a listing prints: whole names in a pipe, a file or a narrow terminal, and with
`--output json` one JSON document of the service's models on stdout, nothing else."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from rich.console import Console
from rich.live import Live
from rich.text import Text
from typer.testing import CliRunner

from shared.accounts import EmailAccount, Platform
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Counts
from shared.azurite import PROJECT_ROOT
from shared.cli import app as cli
from shared.cli.output import UNCUT_WIDTH
from shared.cli.views import end_live
from shared.runtime import Runtime
from shared.service import accounts, audit, labels, mappings, schedules
from shared.settings import Settings
from shared.storage.audit_repo import audit_row_key
from shared.storage.data_labels_repo import DataLabel
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.cli.test_cli import BAD_INPUT, FATAL, NOT_FOUND, error_line
from tests.fixtures.sync_runtime import PASSWORD_SETTING

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_MESSAGE = (
    "1 marketing list: 3 members sent, 0 removed, 0 failed; the address book 'Demo newsletter' "
    "now has 3 contacts"
)


@pytest.fixture
def audited(runtime: Runtime, account: EmailAccount) -> Runtime:
    """Two runs of acme, the newer with a long message and a detail row."""
    for minutes, sync_type, message in (
        (20, SyncType.CRM_METADATA, "104 mappable CRM fields"),
        (10, SyncType.MARKETING_LISTS_DATA_OUT, LONG_MESSAGE),
    ):
        started = runtime.clock() - timedelta(minutes=minutes)
        key = audit_row_key(started, f"run-{minutes}")
        runtime.audit.write(AuditRecord(
            account_id="acme", row_key=key, run_id=f"run-{minutes}", sync_type=sync_type,
            trigger="Scheduled", status=AuditStatus.COMPLETED, started=started,
            finished=started, message=message, counts=Counts(read=3, created=3),
        ))  # fmt: skip
    runtime.audit.add_detail("acme", key, AuditDetail(
        item="Demo newsletter", status=AuditStatus.COMPLETED, message="3 contacts sent"
    ))  # fmt: skip
    return runtime


def run(*args: str, **env: str | None) -> tuple[int, str, str]:
    """The command with stdout not a terminal (as in a pipe), unless `env` says otherwise."""
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": None, **env})
    return result.exit_code, result.stdout, result.stderr


def test_piped_output_keeps_whole_names_and_lines(
    settings: Settings, account: EmailAccount
) -> None:
    """The real command with its stdout a pipe, as in `... | grep` or `> file`."""
    assert settings.storage_connection_string is not None
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TTY_COMPATIBLE")},
        "AzureWebJobsStorage": settings.storage_connection_string.get_secret_value(),
        "TABLE_PREFIX": settings.table_prefix,
        "SYNC_QUEUE_BACKEND": settings.queue_backend.value,
        "SYNC_QUEUE_NAME": settings.queue_name,
    }

    def shared(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "shared", *args], cwd=PROJECT_ROOT, env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    out = shared("schedule", "show", "acme")
    assert "…" not in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    # One line each (nothing wrapped), for each Dotdigital sync type.
    offered = set(catalogue().sync_types(Platform.DOTDIGITAL))
    assert len(rows) == len(offered)
    for sync_type, row in zip([t for t in SyncType if t in offered], rows, strict=True):
        assert f"│ {sync_type.value} " in row
    assert "│ Two-way marketing list sync │" in out

    out = shared("schedule", "set", "acme", "CrmMetadata", "--interval", "4 hours",
                 "--window", "mon-fri 18:00-08:00")  # fmt: skip
    next_runs = next(line for line in out.splitlines() if line.startswith("Next runs"))
    assert next_runs.count("20") == 6  # the six upcoming runs on one line


def test_a_narrow_terminal_keeps_names_whole_and_folds_the_rest(audited: Runtime) -> None:
    code, out, _ = run("audit", "acme", COLUMNS="80", TTY_COMPATIBLE="1")
    assert code == 0, out
    lines = ANSI.sub("", out).splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out
    assert any("│ MarketingListsDataOut │" in line for line in lines)
    # The long message is folded over several lines of its column, none of it lost.
    column = "".join(line.rsplit("│", 2)[-2].strip() for line in lines if line.startswith("│"))
    assert LONG_MESSAGE.replace(" ", "") in column


def test_listings_as_json_are_the_services_models(audited: Runtime) -> None:
    rt = audited
    rt.data_labels.save("acme", DataLabel(name="LOYALTYTIER", default_value="Bronze"))

    def dumped(models: list[Any]) -> list[Any]:
        return [m.model_dump(mode="json") for m in models]

    first_page = audit.runs(rt, "acme", audit.AuditQuery(limit=1))
    expected = {
        ("accounts", "list"): dumped(accounts.list_accounts(rt)),
        ("accounts", "show", "acme"): accounts.get_account(rt, "acme").model_dump(mode="json"),
        ("schedule", "show", "acme"): dumped(schedules.show(rt, "acme")),
        ("labels", "list", "acme"): dumped(labels.list_labels(rt, "acme")),
        ("mappings", "list", "acme"): dumped(mappings.list_mappings(rt, "acme")),
        ("audit", "acme", "--limit", "1"): first_page.model_dump(mode="json"),
    }
    for args, document in expected.items():
        code, out, err = run(*args, "--output", "json")
        assert (code, err) == (0, ""), out + err
        assert json.loads(out) == document, args  # the whole of stdout is the document
    code, out, _ = run("audit", "acme", "--limit", "1", "-o", "json")
    assert json.loads(out)["runs"][0]["message"] == LONG_MESSAGE  # uncut, newest first
    assert json.loads(out)["next_cursor"]  # a second page exists


def test_audit_pages_name_the_command_for_the_next_page(audited: Runtime) -> None:
    since = (audited.clock() - timedelta(days=1)).replace(microsecond=0).isoformat()
    code, out, _ = run("audit", "acme", "--limit", "1", "--since", since, "--details")
    assert code == 0 and "MarketingListsDataOut" in out and "CrmMetadata" not in out
    more = next(line for line in out.splitlines() if line.startswith("More: "))
    command = shlex.split(more.split("`")[1])  # the same filters, from the next page on
    assert command[command.index("--since") + 1] == since and "--details" in command
    code, out, err = run(*command)
    assert code == 0, err
    assert "CrmMetadata" in out and "MarketingListsDataOut" not in out
    assert "More: " not in out


def test_audit_details_as_json_are_each_runs_audit_run(audited: Runtime) -> None:
    code, out, _ = run("audit", "acme", "--details", "--output", "json")
    assert code == 0, out
    page = json.loads(out)
    newest = audited.audit.recent("acme")[0]
    assert page["next_cursor"] is None
    assert page["runs"][0] == audit.run(audited, "acme", newest.row_key).model_dump(mode="json")
    assert [d["item"] for d in page["runs"][0]["details"]] == ["Demo newsletter"]
    assert page["runs"][1]["details"] == []


def test_json_errors_stay_off_stdout(runtime: Runtime, account: EmailAccount) -> None:
    code, out, err = run("labels", "list", "nosuch", "-o", "json")
    assert (code, out) == (NOT_FOUND, "")
    assert error_line(err) == "Error: No email account 'nosuch' (known accounts: acme)."
    code, _, err = run("labels", "list", "acme", "--output", "yaml")
    assert code == BAD_INPUT and "'yaml' is not one of" in err and "'json'" in err


def test_what_follows_a_live_display_in_a_file_starts_on_its_own_line() -> None:
    """The demo's live schedules table, then its audit, written to a file (`make demo > log`)."""
    file = io.StringIO()
    console = Console(file=file, width=UNCUT_WIDTH, soft_wrap=True)
    assert not console.is_terminal
    with Live(Text("messages handled: 5"), console=console, auto_refresh=False):
        pass
    end_live(console)
    console.print("Sync audit: demo")
    assert file.getvalue().splitlines()[-2:] == ["messages handled: 5", "Sync audit: demo"]


def test_test_connection_as_json_is_the_answer_either_way(
    sync_runtime: Runtime, acme: EmailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run("accounts", "test", "acme", "--output", "json")
    assert code == 0, out
    answer = json.loads(out)
    assert (answer["account_id"], answer["success"]) == ("acme", True)
    monkeypatch.setenv(PASSWORD_SETTING, "not-the-password")
    code, out, _ = run("accounts", "test", "acme", "--output", "json")
    answer = json.loads(out)  # still one document, and the exit code says it failed
    assert (code, answer["success"]) == (FATAL, False) and "401" in answer["message"]
