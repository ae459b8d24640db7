"""Marketing lists and members over real HTTP: static members paged through the N:N
navigation, dynamic members through the list's FetchXML (paging cookies), add and remove."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from sandbox.dataverse import (
    ACTION_TEMPLATE,
    BATCH_TEMPLATE,
    COLLECTION_TEMPLATE,
    NAVIGATION_TEMPLATE,
    REF_ITEM_TEMPLATE,
    REF_TEMPLATE,
    ListSpec,
)
from shared.clients import DataverseClient
from shared.clients.dataverse.lists import MemberType
from shared.errors import ApiError
from tests.fixtures.sandboxes import DataverseSandbox


def test_marketing_lists_are_read_with_their_type_and_member_table(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    seeded = dataverse_sandbox.state.seed_data(
        contacts=30,
        leads=20,
        accounts=5,
        lists=[
            ("Newsletter", "contact", 12),
            ("Trade show", "lead", 7),
            ListSpec("Seattle contacts", "contact", dynamic=True),
        ],
    )
    dataverse_sandbox.state.update("list", seeded.lists["Trade show"], {"statecode": 1})

    active = {m.name: m for m in dataverse_client.iter_marketing_lists()}
    every = {m.name for m in dataverse_client.iter_marketing_lists(active_only=False)}

    assert set(active) == {"Newsletter", "Seattle contacts"}
    assert every == {"Newsletter", "Trade show", "Seattle contacts"}
    newsletter = active["Newsletter"]
    assert (newsletter.dynamic, newsletter.member_type, newsletter.member_count) == (
        False,
        MemberType.CONTACT,
        12,
    )
    dynamic = active["Seattle contacts"]
    assert dynamic.dynamic and dynamic.query and "<fetch" in dynamic.query
    assert dataverse_client.get_marketing_list(seeded.lists["Trade show"]).active is False  # type: ignore[union-attr]


def test_static_members_are_paged_through_the_navigation_property(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=60, lists=[("Newsletter", "contact", 45)])
    newsletter = dataverse_client.get_marketing_list(seeded.lists["Newsletter"])
    assert newsletter is not None

    pages = list(
        dataverse_client.iter_list_members(newsletter, ["fullname", "emailaddress1"], page_size=20)
    )

    assert [len(p.records) for p in pages] == [20, 20, 5]
    ids = [r["contactid"] for p in pages for r in p.records]
    assert sorted(ids) == state.list_members(newsletter.list_id)
    calls = state.counters.calls("GET", NAVIGATION_TEMPLATE)
    assert len(calls) == 3
    assert calls[0].path == f"/api/data/v9.2/lists({newsletter.list_id})/listcontact_association"


def test_dynamic_members_come_from_the_query_with_paging_cookies(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(
        contacts=400, lists=[ListSpec("Seattle contacts", "contact", dynamic=True)]
    )
    expected = sorted(
        row_id
        for row_id, row in state.table("contact").rows.items()
        if row.values["address1_city"] == "Seattle" and row.values["statecode"] == 0
    )
    dynamic = dataverse_client.get_marketing_list(seeded.lists["Seattle contacts"])
    assert dynamic is not None and len(expected) > 10

    pages = list(dataverse_client.iter_list_members(dynamic, ["fullname"], page_size=5))

    ids = [r["contactid"] for p in pages for r in p.records]
    assert sorted(ids) == expected and len(ids) == len(set(ids))
    assert all(set(r) == {"@odata.etag", "fullname", "contactid"} for p in pages for r in p.records)
    calls = state.counters.calls("GET", COLLECTION_TEMPLATE)
    assert len(calls) == len(pages)
    second = parse_qs(calls[1].query)["fetchXml"][0]
    assert 'page="2"' in second and "paging-cookie=" in second
    assert 'count="5"' in second
    assert calls[0].headers["prefer"] == (
        'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,'
        'Microsoft.Dynamics.CRM.morerecords"'
    )


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_lookup_columns_are_read_as_x_value_from_both_kinds_of_list(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, dynamic: bool
) -> None:
    state = dataverse_sandbox.state
    spec = ListSpec("Seattle", "contact", dynamic=True) if dynamic else ("News", "contact", 60)
    seeded = state.seed_data(contacts=400, accounts=20, lists=[spec])
    mlist = dataverse_client.get_marketing_list(next(iter(seeded.lists.values())))
    assert mlist is not None
    select = ["fullname", "_parentcustomerid_value", "statecode"]

    pages = list(dataverse_client.iter_list_members(mlist, select, page_size=25))

    rows = [r for p in pages for r in p.records]
    parents = {r["contactid"]: r["_parentcustomerid_value"] for r in rows}
    stored = {i: state.row("contact", i) for i in parents}
    assert parents == {i: row["_parentcustomerid_value"] for i, row in stored.items() if row}
    assert None in parents.values() and len(set(parents.values())) > 2  # with and without one
    # The same columns whatever the kind of list, a lookup without a value included.
    assert {frozenset(r) for r in rows} == {frozenset({"@odata.etag", "contactid", *select})}
    if dynamic:
        fetch = parse_qs(state.counters.calls("GET", COLLECTION_TEMPLATE)[0].query)["fetchXml"][0]
        assert '<attribute name="parentcustomerid" />' in fetch
        assert "_parentcustomerid_value" not in fetch


def test_members_are_added_with_addmemberlist_in_a_batch(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=10, leads=1, lists=[("Newsletter", "contact", 2)])
    list_id = seeded.lists["Newsletter"]
    already = state.list_members(list_id)
    new = [c for c in seeded.contacts if c not in already][:5]
    unknown = "00000000-0000-4000-8000-00000000abcd"

    outcome = dataverse_client.add_list_members(
        list_id, [*new, already[0], unknown, seeded.leads[0]]
    )

    # A lead's id is looked up among contacts (the list's member table): not found either.
    assert [r.status for r in outcome.results] == [200] * 6 + [404, 404]
    assert (outcome.succeeded, outcome.failed) == (6, 2)
    assert outcome.results[5].body["Id"]  # the existing member's listmember id
    assert "contact With Id = " in (outcome.results[6].error_message or "")
    assert sorted(state.list_members(list_id)) == sorted([*already, *new])
    assert state.row("list", list_id)["membercount"] == 7  # type: ignore[index]
    assert state.counters.count("POST", BATCH_TEMPLATE) == 1
    assert state.counters.count("POST", ACTION_TEMPLATE) == 0  # the actions rode in the batch


def test_members_are_removed_and_added_one_at_a_time_through_ref(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=6, leads=4, lists=[("Leads", "lead", 3)])
    list_id = seeded.lists["Leads"]
    members = state.list_members(list_id)
    outsider = next(lead for lead in seeded.leads if lead not in members)

    dataverse_client.add_list_member(list_id, MemberType.LEAD, outsider)
    dataverse_client.remove_list_member(list_id, MemberType.LEAD, members[0])
    outcome = dataverse_client.remove_list_members(list_id, MemberType.LEAD, members[1:])

    assert outcome.succeeded == 2
    assert state.list_members(list_id) == [outsider]
    assert state.row("list", list_id)["membercount"] == 1  # type: ignore[index]
    (ref,) = state.counters.calls("POST", REF_TEMPLATE)
    assert ref.path == f"/api/data/v9.2/lists({list_id})/listlead_association/$ref"
    assert state.counters.count("DELETE", REF_ITEM_TEMPLATE) == 1


def test_a_contact_cannot_join_a_lead_list(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    seeded = dataverse_sandbox.state.seed_data(contacts=1, leads=1, lists=[("Leads", "lead", 0)])

    with pytest.raises(ApiError) as caught:
        dataverse_client.add_list_member(
            seeded.lists["Leads"], MemberType.CONTACT, seeded.contacts[0]
        )
    assert caught.value.status == 400
