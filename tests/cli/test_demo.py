"""`make demo` end to end, as a newcomer runs it (in its stop-after-the-audit mode): the scheduled
syncs, their audit, and a contact edit in Dynamics carried to its address book by the webhook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.azurite import PROJECT_ROOT


def test_demo_runs_the_scheduled_syncs_and_prints_the_audit(tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_DATA_DIR": str(tmp_path / "azurite"), "COLUMNS": "220"}
    result = subprocess.run(
        [sys.executable, "-m", "shared", "demo", "--exit-after-audit"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Sync audit: demo" in out
    assert "CrmMetadata" in out and "DataLabels" in out
    assert "Completed With Errors" in out  # the demo's deliberately invalid label
    assert "ERROR_DATAFIELD_INVALID - Failed to sync dataLabel Loyalty Tier! to Dotdigital" in out
    assert "mappable CRM fields stored" in out
    # The webhook step: registered against the local host, a CRM edit reaches the book.
    assert "Webhook: Made 13 changes" in out
    assert "The change reached the address book 'Demo newsletter'" in out
    assert "FIRSTNAME = 'Augusta Ada'" in out
    assert any(tmp_path.joinpath("azurite").iterdir())  # data persisted where asked
