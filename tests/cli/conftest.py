"""Every CLI test uses the runtime its fixtures install: local.settings.json and the demo's
state file must not leak into os.environ (they would point later tests at other storage).
`lists`: two email-activated marketing lists (failed records, reconciliation)."""

from __future__ import annotations

import pytest

from sandbox.dotdigital.state import DataFieldRecord
from shared.accounts import EmailAccount
from shared.cli import app, environment
from shared.mappings.model import default_mappings
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from tests.fixtures.crm_fields import marketing_crm_fields
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
    rt = sync_runtime
    rt.registry = catalogue().replaced(MarketingListsDataOut())  # DataOut alone: fewer calls
    seeded = dataverse_sandbox.state.seed_data(
        contacts=40, leads=30, lists=[("Newsletter", "contact", 20), ("Prospects", "lead", 10)]
    )
    for name in ("FIRSTNAME", "LASTNAME", "FULLNAME"):
        dotdigital_sandbox.state.data_fields.append(DataFieldRecord(name, "String"))
        rt.data_labels.save("acme", DataLabel(name=name, origin=LabelOrigin.PLATFORM,
                                              is_synchronised=True))  # fmt: skip
    rt.crm_fields.upsert("acme", marketing_crm_fields())
    for mapping in default_mappings():
        rt.mappings.create("acme", mapping)
    for list_id in seeded.lists.values():
        dataverse_sandbox.state.update(
            "list", list_id, {"dms_emailaccountid": "acme", "dms_emailactivated": True}
        )
    return seeded.lists
