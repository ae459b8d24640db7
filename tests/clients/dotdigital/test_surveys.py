"""Pages and forms through the client against the sandbox (every exchange checked against
Dotdigital's OpenAPI): forms, their questions and choices, responses paged and resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.dotdigital.api_surveys import SURVEY_RESPONSES_SINCE
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.surveys import AnswerRecord, SurveyRecord
from shared.clients.dotdigital import DotdigitalClient


def _survey(state: DotdigitalState, responses: int, when: float) -> SurveyRecord:
    store = state.surveys
    survey = store.add_survey("Event feedback", when)
    email = store.add_field(survey, "email", "Email address", required=True)
    rating = store.add_field(survey, "radiolist", "How was it?", choices=("Good", "Bad"))
    store.add_field(survey, "matrix", "Rate each", choices=("1", "2"), rows=("Food", "Venue"))
    for n in range(responses):
        answers = [AnswerRecord(email.id, f"r{n}@example.com"),
                   AnswerRecord(rating.id, rating.choices[n % 2].id)]  # fmt: skip
        store.add_response(survey, f"r{n}@example.com", answers, when + n, when + n + 30)
    return survey


def test_a_forms_questions_choices_and_answers_read_as_the_platform_gives_them(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    now = state.now()
    survey = _survey(state, 1, now - 3600)

    fields = client.survey_fields(survey.id)
    assert [f.text for f in fields] == ["Email address", "How was it?", "Rate each"]
    assert [c.text for c in fields[1].choices] == ["Good", "Bad"]
    assert [s.text for s in fields[2].sub_fields] == ["Food", "Venue"]
    (response,) = client.iter_survey_responses(survey.id)
    assert response.email == "r0@example.com" and response.complete
    assert response.answers[1].value == str(fields[1].choices[0].id)  # a choice: its id
    assert response.last_activity == datetime.fromtimestamp(now - 3600 + 30, UTC)
    form = client.get_survey(survey.id)
    assert (form.name, form.state, form.complete_responses) == ("Event feedback", "Active", 1)


def test_responses_page_by_500_and_a_read_resumes_after_a_saved_page(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    survey = _survey(state, 1_100, state.now() - 7200)
    since = datetime.fromtimestamp(state.now(), UTC) - timedelta(days=1)

    pages = list(client.iter_survey_responses_since(survey.id, since).pages())
    assert [len(p.items) for p in pages] == [500, 500, 100]
    assert [p.resume for p in pages] == [500, 1000, None]
    assert state.counters.count("GET", SURVEY_RESPONSES_SINCE) == 3

    rest = list(client.iter_survey_responses_since(survey.id, since, skip=1000))
    assert [r.id for r in rest] == [r.id for r in pages[2].items]
    with pytest.raises(ValueError, match="between 1 and 500"):
        client.iter_survey_responses(survey.id, select=1000)


def test_only_forms_and_responses_with_activity_since_the_date_are_listed(
    client: DotdigitalClient, state: DotdigitalState
) -> None:
    now = state.now()
    old = state.surveys.add_survey("Old form", now - 10 * 86_400)
    recent = _survey(state, 2, now - 600)
    since = datetime.fromtimestamp(now - 86_400, UTC)

    assert [s.id for s in client.iter_surveys_with_activity_since(since)] == [recent.id]
    assert {s.id for s in client.iter_surveys()} == {old.id, recent.id}
    later = datetime.fromtimestamp(now - 600 + 1, UTC)  # the second response started then
    assert [r.email for r in client.iter_survey_responses_since(recent.id, later)] == [
        "r0@example.com",  # completed 30 s after it started: still active since
        "r1@example.com",
    ]
