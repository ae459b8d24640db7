"""Where the CLI finds its settings: the environment, then local.settings.json (as Core Tools
does), then the Azurite that `make demo` started."""

from __future__ import annotations

import json
import os
from pathlib import Path

from shared.azurite import PROJECT_ROOT

LOCAL_SETTINGS = PROJECT_ROOT / "local.settings.json"
DEMO_STATE = PROJECT_ROOT / ".local" / "demo.json"


def load_local_settings(path: Path = LOCAL_SETTINGS) -> None:
    if path.exists():
        values = json.loads(path.read_text()).get("Values", {})
        for name, value in values.items():
            os.environ.setdefault(name, str(value))
    if DEMO_STATE.exists():
        for name, value in json.loads(DEMO_STATE.read_text()).get("Values", {}).items():
            os.environ.setdefault(name, str(value))
    os.environ.setdefault("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    os.environ.setdefault("SYNC_QUEUE_BACKEND", "StorageQueue")
