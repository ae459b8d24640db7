"""Where the CLI takes its settings from (`--settings`): the running demo before a
local.settings.json, the choice shown in `--help`, and one line when a source is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.accounts import EmailAccount
from shared.azurite import PROJECT_ROOT, AzuriteProcess
from shared.cli.environment import AUTO, DEMO, ENV, resolve
from shared.settings import Settings

BAD_INPUT, FATAL = 2, 1
STORAGE_NAMES = ("AzureWebJobsStorage", "AzureWebJobsStorage__accountName", "TABLE_PREFIX")


def _demo_file(folder: Path, values: dict[str, str], pid: int) -> Path:
    path = folder / "demo.json"
    path.write_text(json.dumps({"Values": values, "Pid": pid}))
    return path


def _local_file(folder: Path, values: dict[str, str]) -> Path:
    path = folder / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return path


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_auto_takes_the_running_demo_before_local_settings_and_says_so(tmp_path: Path) -> None:
    local = _local_file(tmp_path, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    demo = _demo_file(tmp_path, {"AzureWebJobsStorage": "demo"}, os.getpid())

    source = resolve(AUTO, local=local, state=demo)

    assert source.path == demo
    assert source.note.startswith("Settings: the running demo's Azurite, not ")
    assert "--settings " in source.note and str(local) in source.note


def test_auto_takes_local_settings_when_no_demo_runs_even_if_one_was_killed(
    tmp_path: Path,
) -> None:
    local = _local_file(tmp_path, {})
    stale = _demo_file(tmp_path, {"AzureWebJobsStorage": "demo"}, _dead_pid())

    assert resolve(AUTO, local=local, state=stale).path == local
    assert resolve(AUTO, local=tmp_path / "none.json", state=stale).path is None  # environment


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """The real command, with the demo's files under `data_dir`'s parent (DEMO_DATA_DIR)."""
    env = {k: v for k, v in os.environ.items() if k not in STORAGE_NAMES}
    env |= {"DEMO_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "shared", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_settings_demo_and_path_reach_their_storage_and_env_uses_the_environment_only(
    azurite: AzuriteProcess, settings: Settings, account: EmailAccount, tmp_path: Path
) -> None:
    values = {
        "AzureWebJobsStorage": azurite.connection_string,
        "TABLE_PREFIX": settings.table_prefix,
    }
    _demo_file(tmp_path, values, os.getpid())
    (tmp_path / "org").mkdir()
    local = _local_file(tmp_path / "org", values)

    for choice in (DEMO, str(local)):
        result = _cli("--settings", choice, "accounts", "list", data_dir=tmp_path / "azurite")
        assert result.returncode == 0, result.stderr
        assert "acme" in result.stdout and "Acme marketing" in result.stdout

    result = _cli("--settings", ENV, "accounts", "list", data_dir=tmp_path / "azurite")
    assert result.returncode == FATAL
    assert result.stderr.splitlines() == [
        "Error: No storage configured: set AzureWebJobsStorage (a connection string) or "
        "AzureWebJobsStorage__accountName (managed identity with Storage Table and Queue "
        "Data Contributor roles)."
    ]


def test_a_source_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    result = _cli("--settings", DEMO, "accounts", "list", data_dir=tmp_path / "azurite")
    assert result.returncode == BAD_INPUT
    assert result.stderr.splitlines() == [
        "Error: No `make demo` is running: start it in another terminal, or pass --settings "
        "env or --settings PATH (a local.settings.json)."
    ]
    result = _cli("--settings", "nowhere.json", "accounts", "list", data_dir=tmp_path / "x")
    assert result.returncode == BAD_INPUT
    assert result.stderr.startswith("Error: No settings file at nowhere.json: ")


def test_help_shows_the_order() -> None:
    result = _cli("--help", data_dir=Path("unused"))
    assert result.returncode == 0
    words = [w for w in result.stdout.split() if w != "│"]  # the help's box, at any width
    text = " ".join(words)
    assert "--settings" in text and "demo|env|PATH" in text
    assert "Default 'auto': the running demo, else ./local.settings.json, else" in text
