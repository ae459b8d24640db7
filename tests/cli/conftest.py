"""Every CLI test uses the runtime its fixtures install: local.settings.json and the demo's
state file must not leak into os.environ (they would point later tests at other storage)."""

from __future__ import annotations

import pytest

from shared.cli import app, environment


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "load_local_settings", lambda: None)
    monkeypatch.setattr(environment, "load_local_settings", lambda: None)
