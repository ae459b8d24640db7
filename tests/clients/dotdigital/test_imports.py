"""v3 contact imports through the client, over real HTTP against the sandbox: the job lifecycle,
merge options, failed and partly failing imports, large pushes split within the limits, and
rate limits, server errors and dropped connections while importing. Every exchange is
validated against Dotdigital's OpenAPI (the `validated_dotdigital_client` fixture)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sandbox.clock import ManualClock
from sandbox.dotdigital import IMPORT, IMPORT_STATUS, DotdigitalState
from shared.clients import (
    DotdigitalClient,
    ImportContact,
    ImportFailedError,
    ImportLimits,
    ImportStillRunning,
)
from shared.clients.dotdigital.imports import import_bodies
from shared.errors import ApiError, RetriesExhausted
from tests.fixtures.sandboxes import TEST_MAX_RETRIES

POLL = 5.0


def people(count: int, start: int = 0, **extra: object) -> list[ImportContact]:
    return [
        ImportContact(
            email=f"person.{n}@example.com",
            data_fields={"FIRSTNAME": f"First{n}", "LASTNAME": "Person"},
            **extra,  # type: ignore[arg-type]
        )
        for n in range(start, start + count)
    ]


def statuses(state: DotdigitalState, template: str) -> list[int | None]:
    return [call.status for call in state.counters.calls(template=template)]


def test_import_lifecycle_not_finished_then_finished(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.import_not_finished_polls = 2
    existing = state.store.add_contact("person.0@example.com", when=sandbox_clock.now())

    import_id = client.start_contact_import(people(3))
    assert state.store.count() == 1  # accepted, not applied yet
    result = client.wait_for_contact_import(import_id, poll_interval_seconds=POLL)

    assert result.import_id == import_id
    assert result.status == "Finished"
    assert (result.summary.new_contacts, result.summary.updated_contacts) == (2, 1)
    assert [r.identifiers["email"] for r in result.created] == [
        "person.1@example.com",
        "person.2@example.com",
    ]
    assert [r.contact_id for r in result.updated] == [existing.id]
    assert result.failures == ()
    assert statuses(state, IMPORT) == [202]
    assert statuses(state, IMPORT_STATUS) == [200, 200, 200]  # NotFinished, NotFinished, Finished
    assert sandbox_clock.sleeps == [POLL, POLL, POLL]
    assert state.store.by_email("person.2@example.com").data["FIRSTNAME"] == "First2"  # type: ignore[union-attr]


def test_import_waits_for_sandbox_time_too(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.import_not_finished_polls = 0
    state.import_seconds = 12
    result = client.import_contacts(people(2), poll_interval_seconds=POLL)
    assert result.summary.new_contacts == 2
    assert len(state.counters.calls(template=IMPORT_STATUS)) == 3  # at 5 s, 10 s, 15 s


def test_import_body_is_the_documented_shape(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    book = state.store.add_book("Newsletter")
    contact = ImportContact(
        email="shape@example.com",
        data_fields={"FIRSTNAME": "Shape", "LASTNAME": None},
        lists=(book.id,),
        email_type="plainText",
        opt_in_type="double",
    )
    assert contact.to_wire() == {
        "matchIdentifier": "email",
        "identifiers": {"email": "shape@example.com"},
        "dataFields": {"FIRSTNAME": "Shape", "LASTNAME": None},
        "channelProperties": {"email": {"emailType": "plainText", "optInType": "double"}},
        "lists": [book.id],
    }
    ((body, count),) = import_bodies([contact], "overwriteIfEmpty", ImportLimits())
    assert count == 1
    assert json.loads(body) == {"mergeOption": "overwriteIfEmpty", "contacts": [contact.to_wire()]}

    client.import_contacts([contact], poll_interval_seconds=POLL)
    stored = state.store.by_email("shape@example.com")
    assert stored is not None
    assert (stored.email_type, stored.opt_in_type) == ("PlainText", "Double")
    assert stored.books == {book.id: "subscribed"}


@pytest.mark.parametrize(
    ("merge_option", "expected"),
    [
        ("overwrite", {"FIRSTNAME": "New", "POSTCODE": "NEW 1"}),  # null cleared LASTNAME
        ("overwriteIfNotEmpty", {"FIRSTNAME": "New", "LASTNAME": "Old", "POSTCODE": "NEW 1"}),
        ("overwriteIfEmpty", {"FIRSTNAME": "Old", "LASTNAME": "Old", "POSTCODE": "NEW 1"}),
    ],
)
def test_merge_options(
    client: DotdigitalClient,
    state: DotdigitalState,
    sandbox_clock: ManualClock,
    merge_option: str,
    expected: dict[str, str],
) -> None:
    state.store.add_contact(
        "merge@example.com",
        when=sandbox_clock.now(),
        data={"FIRSTNAME": "Old", "LASTNAME": "Old", "POSTCODE": ""},
    )
    incoming = ImportContact(
        email="merge@example.com",
        data_fields={"FIRSTNAME": "New", "LASTNAME": None, "POSTCODE": "NEW 1", "GENDER": ""},
    )
    report = client.import_contacts(
        [incoming],
        merge_option=merge_option,  # type: ignore[arg-type]
        poll_interval_seconds=POLL,
    )
    assert report.summary.updated_contacts == 1
    stored = state.store.by_email("merge@example.com")
    assert stored is not None
    data = {k: v for k, v in stored.data.items() if v not in ("", None)}
    assert data == expected


def test_partly_failing_import_reports_each_failure(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.store.global_suppressions.add("blocked@example.net")
    book = state.store.add_book("Members")
    contacts = [
        ImportContact(email="good.one@example.com"),
        ImportContact(email="not-an-email"),
        ImportContact(email="blocked@example.net"),
        ImportContact(email="GOOD.one@example.com"),  # same identifier again
        ImportContact(email="lists@example.com", lists=(book.id, 424242)),
        ImportContact(email="fields@example.com", data_fields={"NO_SUCH_FIELD": "x"}),
    ]

    report = client.import_contacts(contacts, poll_interval_seconds=POLL)

    summary = report.summary
    assert (summary.new_contacts, summary.updated_contacts) == (3, 0)
    assert (summary.invalid_entries, summary.globally_suppressed) == (1, 1)
    assert summary.duplicate_identifiers == 1
    codes = {f.identifiers.get("email"): f.codes for f in report.failures}
    assert codes == {
        "not-an-email": ("InvalidEmail",),
        "blocked@example.net": ("GloballySuppressed",),
        "GOOD.one@example.com": ("Duplicate",),
        "lists@example.com": ("InvalidAddressBookIds",),
        "fields@example.com": ("InvalidDataField",),
    }
    # Applied but reported: the contact exists and joined the list that exists.
    listed = state.store.by_email("lists@example.com")
    assert listed is not None and listed.books == {book.id: "subscribed"}
    assert state.store.by_email("not-an-email") is None
    assert report.created == 3


@pytest.mark.parametrize("status", ["RejectedByWatchdog", "Failed"])
def test_failed_import_raises_with_the_report(
    client: DotdigitalClient, state: DotdigitalState, status: str
) -> None:
    state.fail_next_import(status)

    with pytest.raises(ImportFailedError) as caught:
        client.import_contacts(people(3), poll_interval_seconds=POLL)

    error = caught.value
    assert error.import_status == error.code == status
    assert error.import_id == error.report.import_ids[0]
    assert error.report.failed_imports[0].status == status
    assert state.store.count() == 0  # nothing applied


def test_a_failed_import_stops_the_push_but_waits_for_the_ones_out(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.fail_next_import("RejectedByWatchdog")
    limits = ImportLimits(max_contacts=10, max_active=2)

    with pytest.raises(ImportFailedError) as caught:
        client.import_contacts(people(60), limits=limits, poll_interval_seconds=POLL)

    report = caught.value.report
    assert [r.status for r in report.results] == ["RejectedByWatchdog", "Finished"]
    assert len(state.counters.calls("PUT", IMPORT)) == 2  # nothing submitted after the failure
    assert state.store.count() == 10


def test_contact_limit_fails_the_whole_import(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.contact_limit = 2
    with pytest.raises(ImportFailedError, match="ExceedsAllowedContactLimit"):
        client.import_contacts(people(3), poll_interval_seconds=POLL)
    assert state.store.count() == 0


def test_large_push_is_split_within_the_body_limit(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    limit = 4_000
    state.max_import_body_bytes = limit  # the sandbox refuses anything bigger (413)
    contacts = people(250)
    sizes = [len(body) for body, _ in import_bodies(contacts, "overwrite", ImportLimits(limit))]
    assert len(sizes) > 5 and max(sizes) <= limit

    report = client.import_contacts(
        iter(contacts), limits=ImportLimits(max_body_bytes=limit), poll_interval_seconds=POLL
    )

    assert len(report.results) == len(sizes)
    assert report.summary.new_contacts == 250
    assert statuses(state, IMPORT) == [202] * len(sizes)
    assert state.store.count() == 250


def test_push_keeps_at_most_max_active_imports_out(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.max_active_imports = 2
    state.import_not_finished_polls = 2
    report = client.import_contacts(
        people(50),
        limits=ImportLimits(max_contacts=10, max_active=2),
        poll_interval_seconds=POLL,
    )
    assert len(report.results) == 5
    assert report.summary.new_contacts == 50
    assert 429 not in statuses(state, IMPORT)
    assert [job.result is not None for job in state.imports.values()] == [True] * 5


def test_too_many_active_imports_from_others_is_waited_out(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.max_active_imports = 3
    state.occupy_import_slots(3, seconds=4)  # another integration's imports

    report = client.import_contacts(people(2), poll_interval_seconds=POLL)

    assert report.summary.new_contacts == 2
    put_statuses = statuses(state, IMPORT)
    assert put_statuses[0] == 429 and put_statuses[-1] == 202
    assert sum(sandbox_clock.sleeps[: len(put_statuses) - 1]) >= 4


def test_slots_held_long_by_others_are_freed_by_finishing_our_own(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    """Backing off does not free a slot another integration holds for hours; the push then
    waits for one of its own imports to finish and resubmits."""
    state.max_active_imports = 3
    state.occupy_import_slots(1, seconds=36_000)

    report = client.import_contacts(
        people(40), limits=ImportLimits(max_contacts=10, max_active=3), poll_interval_seconds=POLL
    )

    assert report.summary.new_contacts == 40
    assert len(report.results) == 4
    put_statuses = statuses(state, IMPORT)
    assert put_statuses.count(202) == 4
    assert put_statuses.count(429) == 2 * (TEST_MAX_RETRIES + 1)


def test_one_contact_too_big_for_any_body_is_refused_before_sending(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    huge = ImportContact(email="huge@example.com", data_fields={"ADDRESS": "x" * 5_000})
    with pytest.raises(ValueError, match="larger than an import body"):
        client.import_contacts([huge], limits=ImportLimits(max_body_bytes=4_000))
    assert state.counters.count("PUT", IMPORT) == 0


def test_import_contact_limits_its_lists() -> None:
    with pytest.raises(ValidationError):
        ImportContact(email="a@example.com", lists=tuple(range(101)))
    with pytest.raises(ValidationError, match="match identifier"):
        ImportContact(mobile_number="447700900000")
    assert ImportContact(mobile_number="447700900000", match_identifier="mobileNumber").to_wire()


def test_body_over_the_service_limit_is_a_v3_error(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.max_import_body_bytes = 500
    with pytest.raises(ApiError) as caught:
        client.import_contacts(people(20), poll_interval_seconds=POLL)
    assert caught.value.status == 413
    assert caught.value.code == "contacts:requestTooLarge"


def test_unknown_import_id_is_import_not_found(client: DotdigitalClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.contact_import_status("2b1c6d1e-0000-4000-8000-000000000000")
    assert caught.value.status == 404
    assert caught.value.code == "contacts:importNotFound"
    assert "could not be found" in str(caught.value)


def test_import_that_never_finishes_is_still_running(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.import_not_finished_polls = 1_000
    import_id = client.start_contact_import(people(1))
    with pytest.raises(ImportStillRunning) as caught:
        client.wait_for_contact_import(import_id, poll_interval_seconds=10, timeout_seconds=60)
    assert caught.value.import_id == import_id
    assert len(state.counters.calls(template=IMPORT_STATUS)) == 6


# Rate limits, server errors and dropped connections while importing --------------------------


def test_429_storm_on_submit_and_polls_then_the_import_finishes(
    client: DotdigitalClient, state: DotdigitalState, sandbox_clock: ManualClock
) -> None:
    state.throttle_next(3, reset_in=7)
    import_id = client.start_contact_import(people(2))
    state.throttle_next(2, reset_in=3)
    result = client.wait_for_contact_import(import_id, poll_interval_seconds=POLL)

    assert result.summary.new_contacts == 2
    assert statuses(state, IMPORT) == [429, 429, 429, 202]
    assert statuses(state, IMPORT_STATUS) == [429, 429, 200, 200]
    assert sandbox_clock.sleeps == [7.0, 7.0, 7.0, POLL, 3.0, 3.0, POLL]


def test_legacy_apiusage_exceeded_while_polling_is_retried(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    import_id = client.start_contact_import(people(1))
    state.throttle_next(2, legacy=True)
    result = client.wait_for_contact_import(import_id, poll_interval_seconds=POLL)
    assert result.finished
    assert statuses(state, IMPORT_STATUS) == [400, 400, 200, 200]


def test_server_errors_while_polling_are_retried(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    import_id = client.start_contact_import(people(1))
    state.faults.fail_next(503, 2)
    result = client.wait_for_contact_import(import_id, poll_interval_seconds=POLL)
    assert result.finished
    assert statuses(state, IMPORT_STATUS) == [503, 503, 200, 200]


def test_persistent_server_errors_exhaust_the_retries(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.faults.set_error_rate(500, 1.0)
    with pytest.raises(RetriesExhausted, match="PUT /contacts/v3/import"):
        client.import_contacts(people(1), poll_interval_seconds=POLL)
    assert state.counters.count("PUT", IMPORT) == TEST_MAX_RETRIES + 1
    assert state.imports == {}


def test_dropped_connection_on_submit_is_retried(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    state.faults.drop_next()
    report = client.import_contacts(people(2), poll_interval_seconds=POLL)
    assert report.summary.new_contacts == 2
    assert statuses(state, IMPORT) == [0, 202]
    assert len(state.imports) == 1


def test_lost_answer_on_submit_imports_twice_harmlessly(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    """The first submission was accepted but its answer lost; the retry is a second import of
    the same contacts, which only updates them again."""
    state.faults.lose_response_next()
    report = client.import_contacts(people(2), poll_interval_seconds=POLL)
    assert len(state.imports) == 2
    state.complete_imports()
    assert state.store.count() == 2
    assert report.summary.new_contacts + report.summary.updated_contacts == 2


def test_connections_that_keep_dropping_exhaust_the_retries(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    import_id = client.start_contact_import(people(1))
    state.faults.set_drop_rate(1.0)
    with pytest.raises(RetriesExhausted, match="connection failed"):
        client.wait_for_contact_import(import_id, poll_interval_seconds=POLL)
    assert state.counters.count("GET", IMPORT_STATUS) == TEST_MAX_RETRIES + 1
