"""`adobe replay ACCOUNT --table TABLE` as an operator types it (Azurite, the Dataverse and ACS
sandboxes): the table's next run sends every record again, every mapped field included (also
those without "apply updates", which changes never write); refused for 2,000,000 records."""

from __future__ import annotations

import json

import pytest

from sandbox.adobe.state import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.service import adobe_ingress
from shared.sync_types import SyncType
from tests.cli.test_cli import BAD_INPUT, NOT_FOUND, error_line, invoke
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox
from tests.pipeline.adobe_ingress_world import configure, contact, profile_mapping, profiles
from tests.pipeline.helpers import run_scheduled

PROFILES = SyncType.PROFILE_INGRESS


def test_a_replay_sends_every_record_again_with_the_fields_changes_leave_out(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dataverse_sandbox: DataverseSandbox, adobe_sandbox: AdobeSandbox,
) -> None:  # fmt: skip
    dv: DataverseState = dataverse_sandbox.state
    acs: AdobeState = adobe_sandbox.state
    mapping = profile_mapping()
    for field in mapping.fields:
        field.apply_updates = field.campaign_field != "firstName"
    configure(sync_runtime, mapping)
    ada = contact(dv, "Ada", "Lovelace")
    contact(dv, "Alan", "Turing")
    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    dv.update("contact", ada, {"firstname": "Augusta"})
    clock.advance(minutes=5)
    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    assert profiles(acs)[ada]["firstName"] == "Ada"  # changes leave it out

    code, out = invoke("adobe", "replay", "globex", "--table", "contact", "--output", "json")

    assert code == 0, out
    answer = json.loads(out)
    assert (answer["sync_type"], answer["records"]) == ("ProfileIngress", 2)
    assert "sends all 2 'contact' records to profile again" in answer["message"]
    clock.advance(minutes=5)
    audit = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    assert profiles(acs)[ada]["firstName"] == "Augusta"
    assert (audit.counts.read, audit.counts.updated) == (2, 2)
    clock.advance(minutes=5)
    after = run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    assert after.counts.read == 0  # once: back to changes


def test_a_replay_is_refused_for_a_table_too_large_or_not_mapped(
    sync_runtime: Runtime, globex: EmailAccount, dataverse_sandbox: DataverseSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for n in range(3):
        contact(dataverse_sandbox.state, f"P{n}", "Person")
    monkeypatch.setattr(adobe_ingress, "REPLAY_LIMIT", 3)  # 2,000,000 rows are not seeded here

    code, out = invoke("adobe", "replay", "globex", "--table", "contact")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: 'contact' has 3 records; Adobe Campaign allows a replay of a table of fewer "
        "than 3 (its records still sync as they change)."
    )
    code, out = invoke("adobe", "replay", "globex", "--table", "new_loyaltycard")
    assert code == NOT_FOUND
    assert "'new_loyaltycard' is not mapped in 'globex'" in error_line(out)
