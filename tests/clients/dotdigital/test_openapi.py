"""Fidelity: every route the Dotdigital client uses is validated, request and response, against
Dotdigital's own OpenAPI descriptions (openapi-core), success and error answers alike.

The other client test modules run through the same validating transport; here one tour calls
each route and the test asserts that the client's route list and what was validated match.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.dotdigital import SeedSpec
from sandbox.dotdigital.campaign_behaviour import add_roi, bookmark, click, view_page
from shared.clients import (
    DotdigitalClient,
    ImportContact,
    PreferenceChoice,
)
from shared.clients.dotdigital.routes import INFERRED_ROUTES, ROUTES
from shared.clients.dotdigital.scoring import FEATURE_NOT_ACTIVATED
from shared.errors import ApiError
from tests.fixtures.dotdigital_openapi.oracle import (
    AMENDMENTS,
    DotdigitalOracle,
    OpenApiMismatch,
    load_spec,
)
from tests.fixtures.sandboxes import DotdigitalSandbox


def _tour(client: DotdigitalClient, sandbox: DotdigitalSandbox, clock: ManualClock) -> None:
    """Call every route of the client once or more (errors included)."""
    state = sandbox.state
    seeded = state.populate(
        SeedSpec(
            contacts=30,
            address_books=(10,),
            suppressed=4,
            book_unsubscribes=2,
            campaigns=1,
            activities_per_campaign=8,
            programs=2,
            preference_categories=1,
            preferences_per_category=2,
            surveys=1,
            responses_per_survey=5,
        )
    )
    since = datetime.fromtimestamp(clock.now(), UTC) - timedelta(days=365)
    book_id = seeded.address_book_ids[0]
    contact_id = seeded.contact_ids[0]

    client.list_data_fields()
    client.create_data_field("TOUR_SCORE", "Numeric", default_value=0)
    assert len(list(client.iter_address_books())) == 2
    created = client.create_address_book("Tour list", visibility="Public")
    assert client.get_address_book(created.id).name == "Tour list"
    members = list(client.iter_address_book_contacts(book_id, with_full_data=True))
    assert client.remove_contact_from_address_book(book_id, members[0].id)
    jobs = client.remove_contacts_from_address_book(
        book_id, [m.id for m in members[1:3]], poll_interval_seconds=1
    )
    assert [job.status for job in jobs] == ["Completed"]
    list(client.iter_address_book_unsubscribes_since(book_id, since))
    client.delete_address_book(created.id)
    assert list(client.iter_suppressions_since(since))
    list(client.iter_unsubscribes_since(since))

    (campaign,) = client.iter_campaigns()
    assert [c.id for c in client.iter_campaigns_with_activity_since(since)] == [campaign.id]
    assert list(client.iter_campaign_activities_since(campaign.id, since))
    assert client.campaign_summary(campaign.id).num_sent == 8
    assert list(client.iter_campaign_address_books(campaign.id)) == []
    record = state.campaigns[campaign.id]
    reader = next(iter(record.activities.values()))
    when = clock.now() - 60
    click(record, reader.contact_id, reader.email, "https://example.com/sale", when)
    view_page(record, reader.contact_id, reader.email, "https://example.com/sale", when + 5)
    add_roi(record, reader.contact_id, reader.email, "Ordered", "Boolean", True, when + 9)
    bookmark(record, reader.contact_id, reader.email, "LinkedIn")
    [clicked] = client.iter_campaign_clicks_since(campaign.id, since)
    assert clicked.url == "https://example.com/sale"
    assert len(list(client.iter_campaign_page_views_since(campaign.id, since))) == 1
    [roi] = client.iter_campaign_roi_details_since(campaign.id, since)
    assert (roi.marker_name, roi.value) == ("Ordered", "true")
    [shared] = client.iter_campaign_social_bookmark_views(campaign.id)
    assert (shared.bookmark_name, shared.num_views) == ("LinkedIn", 1)
    send = client.send_campaign(campaign.id, address_book_ids=[book_id])
    assert client.campaign_send_status(send.id).status == "Sent"
    assert [b.id for b in client.iter_campaign_address_books(campaign.id)] == [book_id]

    person = state.store.contacts[contact_id]
    state.scoring.set(person, 42, when=clock.now(), label="Warm", engagement=30, suitability=12)
    (score,) = client.contact_scores_modified_since(since)
    assert (score.contact_id, score.score, score.score_label) == (contact_id, 42, "Warm")
    state.scoring.enabled = False
    with pytest.raises(ApiError) as refused:
        client.contact_scores_modified_since(since)
    assert refused.value.code == FEATURE_NOT_ACTIVATED  # the INFERRED answer, a v2 envelope
    state.web_insight.view(person, "https://example.com/pricing", when=clock.now())
    (view,) = client.iter_page_views_since(since)  # INFERRED: passes the oracle unchecked
    assert (view.contact_id, view.url, view.duration_seconds) == (
        contact_id, "https://example.com/pricing", 30,
    )  # fmt: skip

    programs = list(client.iter_programs())
    active = next(p for p in programs if p.status == "Active")
    enrolment = client.enrol_in_program(active.id, contact_ids=[contact_id])
    assert client.program_enrolment(enrolment.id).status in ("Processing", "Finished")
    assert client.get_program(active.id) == active
    assert client.get_program(999_999) is None  # a 404 envelope
    assert [u.id for u in client.iter_account_users()][:1] == [701]  # INFERRED: unchecked
    finished = list(client.iter_enrolments("Finished"))
    assert [e.id for e in finished] == [enrolment.id]
    assert finished[0].contacts == (contact_id,)
    assert list(client.iter_enrolments("Processing")) == []

    (category,) = client.list_preferences()
    first = category.preferences[0]
    client.set_contact_preferences(
        contact_id,
        [PreferenceChoice(preference_id=first.id, opted_in=True, category_id=category.id)],
    )
    flat = [p for tree in client.contact_preferences(contact_id) for p in tree.flatten()]
    assert next(p for p in flat if p.id == first.id).is_opted_in is True
    email = state.store.contacts[contact_id].email or ""
    subscriptions = client.contact_subscriptions(email)
    assert subscriptions is not None and first.id in {
        o.preference_id for o in subscriptions.opt_ins
    }
    assert client.contact_subscriptions("nobody@example.com") is None  # a 404 envelope
    changed = list(client.iter_opt_ins_since(first.id, since))
    assert contact_id in {c.contact.id for c in changed}

    (survey,) = client.iter_surveys()
    assert [s.id for s in client.iter_surveys_with_activity_since(since)] == [survey.id]
    assert client.get_survey(survey.id).name == survey.name
    assert [f.type for f in client.survey_fields(survey.id)][:2] == ["email", "multilinetext"]
    assert len(list(client.iter_survey_responses(survey.id))) == 5
    assert len(list(client.iter_survey_responses_since(survey.id, since))) == 5
    with pytest.raises(ApiError):
        client.get_survey(999_999)  # a v2 404 envelope

    report = client.import_contacts(
        [
            ImportContact(email="tour.one@example.com", data_fields={"FIRSTNAME": "Tour"}),
            ImportContact(email="not-an-email", lists=(book_id,)),
        ],
        poll_interval_seconds=1,
    )
    assert report.summary.new_contacts == 1
    contacts = list(client.iter_contacts(data_fields=["FIRSTNAME"], limit=10))
    assert len(contacts) == 31
    assert list(client.iter_contacts(modified_since=since, list_id=book_id, limit=5))
    assert client.get_contact("email", "tour.one@example.com") is not None
    assert client.get_contact("email", "nobody@example.com") is None  # a 404 envelope
    assert client.suppress_contacts(["tour.one@example.com", "nobody@example.com"]).not_found
    assert client.unsubscribe("tour.two@example.com").reason == "Unsubscribed"
    assert client.resubscribe("tour.two@example.com").status == "ContactChallenged"
    assert client.resubscribe("tour.one@example.com", challenge=False).status == "ContactAdded"
    with pytest.raises(ApiError):
        client.contact_import_status("00000000-0000-4000-8000-000000000000")  # 404 envelope
    with pytest.raises(ApiError):
        client.get_address_book(999_999)  # a v2 404 envelope


def test_every_client_route_is_validated_against_dotdigitals_openapi(
    validated_dotdigital_client: DotdigitalClient,
    dotdigital_sandbox: DotdigitalSandbox,
    dotdigital_openapi: DotdigitalOracle,
    sandbox_clock: ManualClock,
) -> None:
    _tour(validated_dotdigital_client, dotdigital_sandbox, sandbox_clock)

    validated = dotdigital_openapi.validated_routes()
    client_routes = {(route.method, route.template) for route in ROUTES}
    assert client_routes - validated == set(), "routes never validated"
    assert validated - client_routes == set(), "exchanges outside the client's route list"
    statuses = {e.status for e in dotdigital_openapi.exchanges}
    assert {200, 201, 202, 204, 403, 404} <= statuses
    unchecked = {(e.method, e.template) for e in dotdigital_openapi.unvalidated}
    assert unchecked == {(route.method, route.template) for route in INFERRED_ROUTES}


def test_the_oracle_rejects_what_the_spec_does_not_allow(
    dotdigital_openapi: DotdigitalOracle, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    base = dotdigital_sandbox.api_endpoint
    book = httpx.Request("GET", f"{base}/v2/address-books/5")
    wrong_type = httpx.Response(200, json={"id": "five", "name": "x"}, request=book)
    with pytest.raises(OpenApiMismatch, match=r"response 200 to GET /v2/address-books/\{id\}"):
        dotdigital_openapi.check(book, wrong_type)

    status = httpx.Request("GET", f"{base}/contacts/v3/import/abc")
    bad_enum = httpx.Response(200, json={"importId": "abc", "status": "Done"}, request=status)
    with pytest.raises(OpenApiMismatch):
        dotdigital_openapi.check(status, bad_enum)

    paged = httpx.Request("GET", f"{base}/contacts/v3", params={"include": "everything"})
    with pytest.raises(OpenApiMismatch, match="include"):
        dotdigital_openapi.check_request(paged)

    undocumented = httpx.Request("GET", f"{base}/v2/address-books")
    teapot = httpx.Response(418, json={"message": "no"}, request=undocumented)
    with pytest.raises(OpenApiMismatch):
        dotdigital_openapi.check(undocumented, teapot)


def test_amendments_target_what_the_published_specs_say() -> None:
    """Each amendment applies cleanly to the published file (they assert what they replace)."""
    assert {a.spec for a in AMENDMENTS} == {"v2", "v3"}
    v2 = load_spec("v2")
    assert v2["servers"][0]["url"] == "https://{region}-api.dotdigital.com"
    delete = v2["paths"]["/v2/address-books/{id}"]["delete"]["responses"]
    assert set(delete) >= {"204", "404"} and "200" not in delete
    v3 = load_spec("v3")
    assert "content" in v3["paths"]["/contacts/v3"]["get"]["responses"]["401"]
