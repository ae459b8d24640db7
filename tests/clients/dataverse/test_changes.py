"""Change tracking over real HTTP: a first full read gives a delta link; later reads return
only what was created, changed or deleted; refused links fall back to a full read and say why."""

from __future__ import annotations

import pytest

from sandbox.clock import ManualClock
from sandbox.dataverse import COLLECTION_TEMPLATE
from shared.clients import DataverseClient
from shared.clients.dataverse.changes import EXPIRED_REASON, ChangeFeed
from shared.errors import ApiError
from tests.fixtures.sandboxes import DataverseSandbox

SELECT = ["fullname", "emailaddress1"]


def drain(feed: ChangeFeed) -> tuple[list[dict[str, object]], list[str]]:
    upserts: list[dict[str, object]] = []
    deleted: list[str] = []
    for page in feed:
        upserts.extend(page.upserts)
        deleted.extend(page.deleted_ids)
    return upserts, deleted


def test_first_read_is_full_and_ends_with_a_delta_link(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    seeded = dataverse_sandbox.state.seed_data(contacts=25)

    feed = dataverse_client.read_changes("contacts", SELECT, None, page_size=10)
    assert feed.is_full_read and feed.full_resync_reason is None
    with pytest.raises(RuntimeError):
        _ = feed.delta_link  # not before every page was read
    upserts, deleted = drain(feed)

    assert sorted(str(r["contactid"]) for r in upserts) == sorted(seeded.contacts)
    assert deleted == []
    assert "$deltatoken=" in feed.delta_link
    calls = dataverse_sandbox.state.counters.calls("GET", COLLECTION_TEMPLATE)
    assert [c.headers["prefer"] for c in calls] == ["odata.track-changes,odata.maxpagesize=10"] * 3


def test_delta_returns_creates_updates_and_deletes_since_the_last_link(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=30)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    drain(first)

    changed, deleted_id, untouched = seeded.contacts[:3]
    state.update("contact", changed, {"firstname": "Renamed"})
    state.delete("contact", deleted_id)
    created = state.insert("contact", {"firstname": "New", "lastname": "Person"})
    short_lived = state.insert("contact", {"lastname": "Gone soon"})
    state.delete("contact", short_lived)

    feed = dataverse_client.read_changes("contacts", SELECT, first.delta_link)
    assert not feed.is_full_read and feed.full_resync_reason is None
    upserts, deleted = drain(feed)

    assert [r["contactid"] for r in upserts] == [changed, created]  # in version order
    assert upserts[0]["fullname"] == f"Renamed {state.row('contact', changed)['lastname']}"  # type: ignore[index]
    assert deleted == [deleted_id, short_lived]  # created and deleted between runs: deleted
    assert untouched not in {r["contactid"] for r in upserts}

    again = dataverse_client.read_changes("contacts", SELECT, feed.delta_link)
    assert drain(again) == ([], [])
    assert again.delta_link != first.delta_link


def test_a_long_delta_is_paged(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=40)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    drain(first)
    for contact_id in seeded.contacts[:25]:
        state.update("contact", contact_id, {"jobtitle": "Changed"})
    for contact_id in seeded.contacts[25:30]:
        state.delete("contact", contact_id)

    feed = dataverse_client.read_changes("contacts", SELECT, first.delta_link, page_size=10)
    pages = list(feed)

    assert [len(p.upserts) + len(p.deleted_ids) for p in pages] == [10, 10, 10]
    assert sum(len(p.deleted_ids) for p in pages) == 5
    assert pages[-1].deleted_ids == seeded.contacts[25:30]


def test_expired_token_falls_back_to_a_full_read_and_says_so(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    state = dataverse_sandbox.state
    seeded = state.seed_data(contacts=12)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    drain(first)
    state.expire_change_tokens()

    feed = dataverse_client.read_changes("contacts", SELECT, first.delta_link)

    assert feed.is_full_read
    assert feed.full_resync_reason == EXPIRED_REASON
    assert feed.full_resync_reason == "Change tracking token expired; read all records again"
    upserts, _ = drain(feed)
    assert sorted(str(r["contactid"]) for r in upserts) == sorted(seeded.contacts)
    statuses = [c.status for c in state.counters.calls("GET", COLLECTION_TEMPLATE)]
    assert statuses == [200, 400, 200]
    # The new link works.
    assert drain(dataverse_client.read_changes("contacts", SELECT, feed.delta_link)) == ([], [])


def test_token_older_than_the_retention_window_is_expired(
    dataverse_sandbox: DataverseSandbox,
    dataverse_client: DataverseClient,
    sandbox_clock: ManualClock,
) -> None:
    dataverse_sandbox.state.seed_data(contacts=3)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    drain(first)
    sandbox_clock.advance(31 * 86_400)

    feed = dataverse_client.read_changes("contacts", SELECT, first.delta_link)

    assert feed.full_resync_reason == EXPIRED_REASON


def test_a_link_for_other_columns_or_another_table_is_not_used(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=3, accounts=2)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    drain(first)
    dataverse_sandbox.state.counters.reset()

    wider = dataverse_client.read_changes("contacts", [*SELECT, "jobtitle"], first.delta_link)
    other = dataverse_client.read_changes("accounts", ["name"], first.delta_link)
    garbage = dataverse_client.read_changes("contacts", SELECT, "not a link")

    assert (
        wider.full_resync_reason == "The columns read from contacts changed; read all records again"
    )
    assert (
        other.full_resync_reason
        == "Change tracking token is not valid for accounts; read all records again"
    )
    assert (
        garbage.full_resync_reason
        == "Change tracking token is not valid for contacts; read all records again"
    )
    # None of them sent the unusable link: three full reads only.
    queries = [c.query for c in dataverse_sandbox.state.counters.calls("GET", COLLECTION_TEMPLATE)]
    assert len(queries) == 3 and not any("deltatoken" in q for q in queries)


def test_a_token_the_service_does_not_know_is_a_refusal_with_its_message(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.seed_data(contacts=2)
    first = dataverse_client.read_changes("contacts", SELECT, None)
    drain(first)
    forged = first.delta_link.split("$deltatoken=")[0] + "$deltatoken=garbage"

    feed = dataverse_client.read_changes("contacts", SELECT, forged)

    assert feed.is_full_read
    assert feed.full_resync_reason == EXPIRED_REASON  # the sandbox answers like an expired one


def test_table_without_change_tracking_is_a_clear_error(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient
) -> None:
    dataverse_sandbox.state.set_change_tracking("contact", False)

    with pytest.raises(ApiError, match="Change tracking is not enabled for contacts"):
        dataverse_client.read_changes("contacts", SELECT, None)


def test_deleted_entries_are_recognised_by_their_context() -> None:
    from shared.clients.dataverse.changes import is_deleted_entry

    assert is_deleted_entry(
        {
            "@odata.context": "https://org/api/data/v9.2/$metadata#accounts/$deletedEntity",
            "id": "2e451703-c686-e711-80e5-00155db19e6d",
            "reason": "deleted",
        }
    )
    assert is_deleted_entry({"id": "x", "reason": "deleted"})
    assert not is_deleted_entry({"@odata.etag": 'W/"1"', "accountid": "x", "name": "deleted"})
