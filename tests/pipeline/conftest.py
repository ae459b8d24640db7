"""The local host around the sync runtime (tests/fixtures/sync_runtime.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.localhost.host import LocalHost
from shared.localhost.run import build_host
from shared.runtime import Runtime
from tests.fixtures.sync_runtime import PASSWORD_SETTING, sync_settings

__all__ = ["PASSWORD_SETTING", "sync_settings"]  # where older tests import them from


@pytest.fixture
def host(sync_runtime: Runtime) -> LocalHost:
    return build_host(sync_runtime, visibility=timedelta(seconds=2), max_deliveries=3)
