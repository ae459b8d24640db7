"""A dry run of an Adobe Campaign account: its writes to ACS are recorded, never sent; its
reads are real; what it "created" reads back as written."""

from __future__ import annotations

from shared.accounts import EmailAccount
from shared.clients.adobe import AdobeCampaignClient
from shared.engine.dry_run import DryRunServices, WriteRecorder
from shared.runtime import Runtime
from tests.fixtures.sandboxes import AdobeSandbox


def test_writes_are_recorded_and_reads_are_live(
    sync_runtime: Runtime, globex: EmailAccount, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.seed_profiles(2)
    adobe_sandbox.state.add_workflow("WKF1", signals={"signal1": ()})
    recorder = WriteRecorder()
    client = DryRunServices(sync_runtime, recorder).platform_client(globex)
    assert isinstance(client, AdobeCampaignClient)  # what Run.platform checks

    existing = client.read_page("profile").items
    assert len(existing) == 2  # a real read
    made = client.create("profile", {"externalId": "c-1", "denyListEmail": True})
    assert client.get(made["href"])["blackListEmail"] is True  # reads back as "written"
    client.update(existing[0]["href"], {"firstName": "Ada"})
    client.delete(existing[1]["href"])
    client.trigger_signal("WKF1", "signal1", source="connector")

    assert [(e.action, e.count, e.samples) for e in recorder.entries] == [
        ("create profile", 1, ["c-1"]),
        ("update profile", 1, [existing[0]["PKey"]]),
        ("delete profile", 1, [existing[1]["PKey"]]),
        ("trigger workflow signals", 1, ["WKF1/signal1"]),
    ]
    assert len(adobe_sandbox.state.profiles()) == 2  # nothing written
    assert [p["firstName"] for p in adobe_sandbox.state.profiles()] == ["Person", "Person"]
    assert adobe_sandbox.state.triggers == []
