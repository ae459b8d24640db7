"""Engagement timelines through the admin API: a contact's and a lead's interactions as JSON,
the Emails option and a time range in the query, and the refusals as problem+json."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import problem
from tests.fixtures.engagement_rows import Seeded


def test_a_contacts_timeline_with_the_emails_option_and_a_range(
    api: httpx.Client, acme_api: dict[str, Any], engagement: Seeded
) -> None:
    answer = api.get(f"/accounts/acme/contacts/{engagement.ada}/timeline")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["person"]["name"] == "Ada Lovelace"
    assert [e["when"] for e in body["events"]] == sorted(e["when"] for e in body["events"])
    assert len(body["events"]) == 9 and body["earlier"] == 0
    assert body["first_interaction"]["title"] == "Email sent: November news"
    assert body["last_interaction"]["title"] == "Email sent: Black Friday"
    form = next(e for e in body["events"] if e["kind"] == "form_response")
    assert form["answers"][0] == {"question": "How did you hear of us?", "answer": "A friend"}

    path = f"/accounts/acme/contacts/{engagement.ada}/timeline"
    emails = api.get(path, params={"kinds": "emails", "from": "2026-11-02", "to": "2026-12-01"})
    assert emails.status_code == 200, emails.text
    assert [(e["kind"], e["when"]) for e in emails.json()["events"]] == [
        ("opened", "2026-11-03T08:00:00Z"), ("sent", "2026-11-20T09:00:00Z"),
    ]  # fmt: skip
    assert emails.json()["totals"]["clicks"] is None

    clicks = api.get(path, params=[("kinds", "clicked"), ("kinds", "page_view"), ("limit", "1")])
    assert clicks.status_code == 200, clicks.text
    assert [e["title"] for e in clicks.json()["events"]] == ["Page viewed (WebInsight)"]
    assert clicks.json()["earlier"] == 3


def test_a_leads_timeline(api: httpx.Client, acme_api: dict[str, Any], engagement: Seeded) -> None:
    answer = api.get(f"/accounts/acme/leads/{engagement.lena}/timeline")
    assert answer.status_code == 200, answer.text
    assert [e["title"] for e in answer.json()["events"]] == ["Form started: Feedback"]


def test_refusals_are_problems(
    api: httpx.Client, acme_api: dict[str, Any], engagement: Seeded
) -> None:
    missing = problem(api.get(f"/accounts/acme/leads/{engagement.ada}/timeline"), 404)
    assert "No lead" in missing["detail"] and "check the id" in missing["detail"]
    problem(api.get(f"/accounts/nosuch/contacts/{engagement.ada}/timeline"), 404)
    problem(api.get("/accounts/acme/contacts/not-a-guid/timeline"), 422)
    path = f"/accounts/acme/contacts/{engagement.ada}/timeline"
    problem(api.get(path, params={"kinds": "everything"}), 422)
    backwards = problem(api.get(path, params={"from": "2026-12-01", "to": "2026-11-01"}), 422)
    assert "must be before" in backwards["detail"]
