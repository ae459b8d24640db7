"""The pipeline tests' fixtures live in tests/fixtures/sync_runtime.py (shared with the service,
API and CLI tests); older tests import these names from here."""

from __future__ import annotations

from tests.fixtures.sync_runtime import PASSWORD_SETTING, sync_settings

__all__ = ["PASSWORD_SETTING", "sync_settings"]
