"""Every CLI test uses the runtime its fixtures install: local.settings.json and the demo's
state file must not leak into os.environ (they would point later tests at other storage).
`lists`: two email-activated marketing lists (failed records, reconciliation)."""

from __future__ import annotations

import pytest

from shared.accounts import EmailAccount
from shared.cli import app, environment
from shared.runtime import Runtime
from tests.fixtures.email_lists import seed_email_lists
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "load_local_settings", lambda: None)
    monkeypatch.setattr(environment, "load_local_settings", lambda: None)


@pytest.fixture
def lists(
    sync_runtime: Runtime,
    acme: EmailAccount,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> dict[str, str]:
    """Two email-activated lists of the account, their labels and mappings in place."""
    return seed_email_lists(sync_runtime, dataverse_sandbox, dotdigital_sandbox)
