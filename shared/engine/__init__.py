"""The sync-type template and its runner: what every sync type is built on.

| module | what |
|---|---|
| `declaration` | `SyncDeclaration`: audit name, platforms, direction, prerequisites |
| `cursor` | `Cursor`: typed, versioned, size-guarded run state |
| `watermark` | `WatermarkWindow`: "changes since the last run", committed by the runner |
| `template` | `SyncTypeTemplate`, `Run`, `SyncResult`: what a type writes |
| `runner` | `Slice.run`: prerequisites, checkpoints, pauses, watermarks, dry runs |
| `dry_run` | recording sinks for the writes of a dry run |
| `registry` | `SyncTypeRegistry`: (platform, sync type) -> the type that runs it |
"""

from shared.engine.cursor import Cursor, CursorError
from shared.engine.declaration import Direction, LastRunDidNotFail, SyncDeclaration
from shared.engine.template import Run, Steps, SyncResult, SyncTypeTemplate
from shared.engine.watermark import WatermarkWindow

__all__ = [
    "Cursor",
    "CursorError",
    "Direction",
    "LastRunDidNotFail",
    "Run",
    "Steps",
    "SyncDeclaration",
    "SyncResult",
    "SyncTypeTemplate",
    "WatermarkWindow",
]
