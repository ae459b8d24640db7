"""The Dotdigital sandbox's pages and forms over raw HTTP: bodies checked against the v2
OpenAPI, select capped at 500, activity dates, 429s and counters."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.dotdigital import DotdigitalState
from sandbox.dotdigital.api_surveys import SURVEY_RESPONSES, SURVEYS
from sandbox.dotdigital.surveys import AnswerRecord, SurveyRecord
from sandbox.dotdigital.wire import iso
from tests.fixtures.sandboxes import DotdigitalSandbox


@pytest.fixture
def state(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


@pytest.fixture
def http(
    dotdigital_sandbox: DotdigitalSandbox, validated_dotdigital_http: httpx.Client
) -> httpx.Client:
    """Validated against the OpenAPI; authenticated; based on the account's region."""
    validated_dotdigital_http.auth = (
        dotdigital_sandbox.api_user,
        dotdigital_sandbox.password.get_secret_value(),
    )
    validated_dotdigital_http.base_url = httpx.URL(dotdigital_sandbox.api_endpoint)
    return validated_dotdigital_http


@pytest.fixture
def plain(dotdigital_sandbox: DotdigitalSandbox) -> Iterator[httpx.Client]:
    auth = (dotdigital_sandbox.api_user, dotdigital_sandbox.password.get_secret_value())
    with httpx.Client(auth=auth, base_url=dotdigital_sandbox.api_endpoint) as client:
        yield client


def _survey(state: DotdigitalState, when: float) -> SurveyRecord:
    store = state.surveys
    survey = store.add_survey("Feedback", when)
    colour = store.add_field(survey, "radiolist", "Colour", choices=("Red", "Blue"))
    store.add_field(survey, "matrix", "Rate", choices=("1", "2"), rows=("Food", "Venue"))
    store.add_response(survey, "a@example.com", [AnswerRecord(colour.id, colour.choices[1].id)],
                       when, when + 600)  # fmt: skip
    store.add_response(survey, "b@example.com", [], when + 60, None)
    return survey


def test_forms_fields_and_responses_conform_and_choices_answer_by_id(
    http: httpx.Client, state: DotdigitalState
) -> None:
    survey = _survey(state, state.now() - 3600)

    [listed] = http.get(SURVEYS).json()
    assert (listed["id"], listed["totalCompleteResponses"], listed["totalIncompleteResponses"]) == (
        survey.id, 1, 1,
    )  # fmt: skip
    [page] = http.get(f"{SURVEYS}/{survey.id}/fields").json()
    colour, matrix = page["fields"]
    assert [c["text"] for c in colour["choices"]] == ["Red", "Blue"]
    assert [s["text"] for s in matrix["subFields"]] == ["Food", "Venue"]
    first, second = http.get(f"{SURVEYS}/{survey.id}/responses").json()
    assert first["givenAnswers"] == [
        {"fieldId": colour["id"], "subFieldId": None, "value": colour["choices"][1]["id"]}
    ]
    assert (first["complete"], second["complete"], second["dateCompleted"]) == (True, False, None)


def test_activity_since_counts_a_completion_after_the_start(
    http: httpx.Client, state: DotdigitalState
) -> None:
    when = state.now() - 3600
    survey = _survey(state, when)
    since = iso(when + 120)  # after both starts, before the first completion

    answered = http.get(f"{SURVEYS}/{survey.id}/responses/with-activity-since/{since}").json()
    assert [r["email"] for r in answered] == ["a@example.com"]
    assert [s["id"] for s in http.get(f"{SURVEYS}/with-activity-since/{since}").json()] == [
        survey.id
    ]
    assert http.get(f"{SURVEYS}/with-activity-since/{iso(when + 601)}").json() == []


def test_select_is_capped_at_500_unknown_forms_are_404_and_429s_are_served(
    plain: httpx.Client, state: DotdigitalState
) -> None:
    survey = _survey(state, state.now() - 3600)
    responses = f"{SURVEYS}/{survey.id}/responses"

    too_many = plain.get(responses, params={"select": 501})
    assert too_many.status_code == 400 and "ERROR_PARAMETER_INVALID" in too_many.json()["message"]
    missing = plain.get(f"{SURVEYS}/999999/fields")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Error: ERROR_SURVEY_NOT_FOUND"}
    state.throttle_next(1, reset_in=5)
    limited = plain.get(responses)
    assert limited.status_code == 429 and "x-ratelimit-reset" in limited.headers
    assert len(plain.get(responses, params={"select": 1, "skip": 1}).json()) == 1
    assert state.counters.count("GET", SURVEY_RESPONSES) == 3
