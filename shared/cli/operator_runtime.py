"""What the operations commands (dead letters, failed records, reconciliation) share: the
runtime the other commands use, and a console."""

from __future__ import annotations

from rich.console import Console

from shared.cli.environment import load_local_settings
from shared.runtime import Runtime, get_runtime

console = Console()


def runtime() -> Runtime:
    load_local_settings()
    return get_runtime()
