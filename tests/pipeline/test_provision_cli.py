"""`python -m shared dataverse provision` against the Dataverse sandbox: a bare org, then the
same command again (nothing to create), and a dry run (lists, creates nothing)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shared.cli import app as cli
from shared.cli import environment
from shared.runtime import Runtime
from tests.fixtures.sandboxes import DataverseSandbox

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests' runtime is installed; local.settings.json must not leak into os.environ.
    monkeypatch.setattr(environment, "load_local_settings", lambda: None)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_provision_a_bare_org_then_nothing_to_create(
    sync_runtime: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    state = dataverse_sandbox.state
    state.reset(connector_solution=False)

    code, dry = invoke("dataverse", "provision", "--dry-run")
    assert code == 0, dry
    assert dry.startswith("Dry run: nothing is created. Org https://")
    assert "would create table dms_emailsuppression" in dry
    assert "would create column contact.dms_optintype" in dry
    assert "run without --dry-run to create them" in dry
    assert "dms_emailsuppression" not in state.tables

    code, out = invoke("dataverse", "provision")
    assert code == 0, out
    assert "created publisher dynamicsmarketingsync (customization prefix dms)" in out
    assert "created solution DynamicsMarketingSync" in out
    assert "created column dms_emailsuppression.dms_contactid (lookup to contact)" in out
    assert {"dms_emailsuppression", "dms_marketingpreferencesubscription"} <= set(state.tables)

    code, again = invoke("dataverse", "provision")
    assert code == 0, again
    assert "Nothing to create: the connector's 21 tables and" in again
    assert "] created" not in again  # no step ran


def test_missing_privileges_are_one_line_naming_the_role(
    sync_runtime: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    dataverse_sandbox.state.reset(connector_solution=False)
    dataverse_sandbox.state.deny_customization = True
    code, out = invoke("dataverse", "provision")
    assert code == 1
    error = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and "System Customizer role" in error[0]
