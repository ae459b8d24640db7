"""The list push records every contact, lead and account that has ever been in an
email-activated marketing list of the account (MarketingPreferences syncs them): members
leaving a list stay recorded, and a push with no new member writes nothing there."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.clients import DataverseClient, MemberType
from shared.localhost.host import LocalHost
from shared.mappings.model import default_mappings
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from shared.sync.marketing_lists.history_repo import MembershipHistory, membership_history
from shared.sync_types import SyncType
from tests.fixtures.crm_fields import marketing_crm_fields
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox
from tests.pipeline.helpers import run_scheduled

OUT = SyncType.MARKETING_LISTS_DATA_OUT


@pytest.fixture
def dv(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox
) -> DataverseState:
    sync_runtime.registry = catalogue().replaced(MarketingListsDataOut())
    for name in ("FIRSTNAME", "LASTNAME", "FULLNAME"):
        sync_runtime.data_labels.save(
            "acme", DataLabel(name=name, origin=LabelOrigin.PLATFORM, is_synchronised=True)
        )
    sync_runtime.crm_fields.upsert("acme", marketing_crm_fields())
    for mapping in default_mappings():
        sync_runtime.mappings.create("acme", mapping)
    return dataverse_sandbox.state


def _list(dv: DataverseState, name: str, member_type: int, members: list[str]) -> str:
    list_id = dv.insert(
        "list",
        {"listname": name, "type": False, "createdfromcode": member_type,
         "dms_emailaccountid": "acme", "dms_emailactivated": True,
         "dms_membershipaction": 1},
    )  # fmt: skip
    for member in members:
        dv.add_list_member(list_id, member)
    return list_id


def _rows(rt: Runtime) -> list[dict[str, Any]]:
    table = rt.tables.client(MembershipHistory.TABLE)
    return list(table.query_entities("PartitionKey eq 'acme'"))


def test_every_member_ever_pushed_stays_recorded_and_only_new_ones_are_written(
    sync_runtime: Runtime, dv: DataverseState, host: LocalHost, clock: ManualClock,
    dataverse_client: DataverseClient,
) -> None:  # fmt: skip
    contacts = [
        dv.insert("contact", {"emailaddress1": f"c{n}@example.com", "lastname": f"C{n}"})
        for n in range(3)
    ]
    account = dv.insert("account", {"emailaddress1": "firm@example.com", "name": "Firm"})
    news = _list(dv, "News", 2, contacts[:2])
    _list(dv, "Firms", 1, [account])
    history = membership_history(sync_runtime)

    audit = run_scheduled(sync_runtime, host, clock, "acme", OUT)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert history.ids("acme", "contact") == set(contacts[:2])
    assert history.ids("acme", "account") == {account}
    rows = len(_rows(sync_runtime))

    dataverse_client.remove_list_member(news, MemberType.CONTACT, contacts[0])
    clock.advance(minutes=5)
    run_scheduled(sync_runtime, host, clock, "acme", OUT)
    assert history.ids("acme", "contact") == set(contacts[:2])  # the leaver stays
    assert len(_rows(sync_runtime)) == rows  # nothing new: nothing written

    dv.add_list_member(news, contacts[2])
    clock.advance(minutes=5)
    run_scheduled(sync_runtime, host, clock, "acme", OUT)
    assert history.ids("acme", "contact") == set(contacts)
    assert len(_rows(sync_runtime)) == rows + 1  # one entity with the one new id


def test_members_pushed_before_the_history_existed_are_added_once(
    sync_runtime: Runtime, dv: DataverseState, host: LocalHost, clock: ManualClock
) -> None:
    contacts = [
        dv.insert("contact", {"emailaddress1": f"old{n}@example.com", "lastname": f"O{n}"})
        for n in range(4)
    ]
    _list(dv, "Old list", 2, contacts)
    run_scheduled(sync_runtime, host, clock, "acme", OUT)
    table = sync_runtime.tables.client(MembershipHistory.TABLE)
    for row in _rows(sync_runtime):  # as an upgraded connector finds it: no history at all
        table.delete_entity(row["PartitionKey"], row["RowKey"])

    clock.advance(minutes=5)
    run_scheduled(sync_runtime, host, clock, "acme", OUT)

    assert membership_history(sync_runtime).ids("acme", "contact") == set(contacts)
