"""Where the CLI finds its settings (`--settings`). Environment variables always win (as Core
Tools does with local.settings.json); the chosen source fills in the rest. The default, `auto`:
the Azurite of a running `make demo`, else ./local.settings.json, else the environment alone."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.azurite import PROJECT_ROOT
from shared.errors import BadInputError
from shared.runtime import Runtime, get_runtime

LOCAL_SETTINGS = PROJECT_ROOT / "local.settings.json"
AUTO, DEMO, ENV = "auto", "demo", "env"
HELP = (
    "Where settings come from: 'demo' (the running `make demo`'s Azurite), 'env' (environment "
    "variables only, as in Azure) or a local.settings.json path. Default 'auto': the running "
    "demo, else ./local.settings.json, else the environment. Environment variables always win."
)


@dataclass(frozen=True)
class Source:
    """The settings file chosen (None: the environment alone) and how to name it to a user."""

    path: Path | None
    name: str
    note: str = ""  # one line for stderr when another source was there and not used


_choice = AUTO
_noted = False


def demo_data_dir() -> Path:
    """Where `make demo` keeps Azurite's data (DEMO_DATA_DIR moves it, for tests)."""
    return Path(os.environ.get("DEMO_DATA_DIR", PROJECT_ROOT / ".local" / "azurite"))


def demo_state() -> Path:
    """The running demo's storage and queue settings, beside its data (.local/demo.json)."""
    return demo_data_dir().parent / "demo.json"


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def demo_running(state: Path) -> bool:
    """The demo's file is there and its process lives (a killed demo leaves the file behind)."""
    try:
        pid = json.loads(state.read_text()).get("Pid")
    except (OSError, ValueError):
        return False
    if not isinstance(pid, int):
        return True  # written before demos recorded their process: trust it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True


def resolve(choice: str, local: Path | None = None, state: Path | None = None) -> Source:
    """The source `--settings choice` names; BadInputError when it is not there."""
    local = local or LOCAL_SETTINGS
    state = state or demo_state()
    if choice == ENV:
        return Source(None, "the environment")
    if choice == DEMO:
        if not demo_running(state):
            raise BadInputError(
                "No `make demo` is running: start it in another terminal, or pass "
                "--settings env or --settings PATH (a local.settings.json)."
            )
        return Source(state, "the running demo")
    if choice != AUTO:
        path = Path(choice).expanduser()
        if not path.is_file():
            raise BadInputError(
                f"No settings file at {choice}: pass the path of a local.settings.json "
                "(copy local.settings.example.json), or --settings demo or --settings env."
            )
        return Source(path.resolve(), _shown(path.resolve()))
    if demo_running(state):
        note = ""
        if local.is_file():
            note = (
                f"Settings: the running demo's Azurite, not {_shown(local)} "
                f"(--settings {_shown(local)} uses that)."
            )
        return Source(state, "the running demo", note)
    if local.is_file():
        return Source(local, _shown(local))
    return Source(None, "the environment")


def choose(choice: str) -> Source:
    """Record the root option's choice (checked now, applied when a command needs settings)."""
    global _choice, _noted
    source = resolve(choice)
    _choice, _noted = choice, False
    return source


def load_local_settings() -> None:
    """Fill os.environ from the chosen source; names already in the environment are kept."""
    global _noted
    source = resolve(_choice)
    if source.path is not None:
        for name, value in json.loads(source.path.read_text()).get("Values", {}).items():
            os.environ.setdefault(name, str(value))
    if source.note and not _noted:
        _noted = True
        print(source.note, file=sys.stderr)
    if _choice != ENV:  # the local tools' defaults: Azurite on its default ports, its queue
        os.environ.setdefault("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        os.environ.setdefault("SYNC_QUEUE_BACKEND", "StorageQueue")


def runtime() -> Runtime:
    """The runtime a command group uses, once the chosen settings are in the environment."""
    load_local_settings()
    return get_runtime()
