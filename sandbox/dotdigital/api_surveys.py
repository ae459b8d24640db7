"""v2 pages and forms (surveys): list, with activity since a date, one by id, its pages of
fields, and its responses (all, or with activity since a date).

Every list pages with `select` (1..500, the pages-and-forms reference's maximum) and `skip`,
ordered by id. Bodies follow the v2 swagger's `ApiSurvey`, `ApiSurveyPage` and
`ApiSurveyResponse`. Errors: 404 `Error: ERROR_SURVEY_NOT_FOUND` (INFERRED: the references
document no error for an unknown survey; the token follows the `ERROR_<THING>_NOT_FOUND` form
of the other v2 calls).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.dotdigital.api_address_books import path_date, path_int
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.surveys import FieldRecord, ResponseRecord, SurveyRecord
from sandbox.dotdigital.wire import bool_param, iso, json_response, select_skip, v2_error

if TYPE_CHECKING:
    from sandbox.dotdigital.app import Endpoint

SURVEYS = "/v2/surveys"
SURVEYS_WITH_ACTIVITY_SINCE = "/v2/surveys/with-activity-since/{date}"
SURVEY = "/v2/surveys/{id}"
SURVEY_FIELDS = "/v2/surveys/{id}/fields"
SURVEY_RESPONSES = "/v2/surveys/{id}/responses"
SURVEY_RESPONSES_SINCE = "/v2/surveys/{id}/responses/with-activity-since/{date}"
# INFERRED: no error is documented for an unknown survey; the token follows the other v2 calls'
# `Error: ERROR_<THING>_NOT_FOUND` answers.
SURVEY_NOT_FOUND = "Error: ERROR_SURVEY_NOT_FOUND"
MAX_SELECT = 500


def survey_json(survey: SurveyRecord) -> dict[str, Any]:
    """`ApiSurvey` (the totals the connector does not read are zero)."""
    responses = list(survey.responses.values())
    complete = [r for r in responses if r.complete]
    dates = [r.date_started for r in responses]
    body: dict[str, Any] = {
        "id": survey.id,
        "name": survey.name,
        "url": f"https://r1.dotdigital-pages.com/p/{survey.id}",
        "dateSurveyCreated": iso(survey.created),
        "dateSurveyModified": iso(survey.modified),
        "state": survey.state,
        "firstActiveDate": iso(survey.created),
        "lastInactiveDate": None,
        "scheduledStartDate": None,
        "scheduledEndDate": None,
        "confirmationMode": "Text",
        "submissionMode": "Single",
        "fieldCount": len(survey.fields()),
        "notifyCreatorOnResponse": False,
        "respondentNotificationType": "None",
        "respondentNotificationCampaignId": None,
        "isAssignedToAddressBook": False,
        "assignedAddressBookTarget": "AllContacts",
        "assignedSpecificAddressBookId": None,
        "firstResponseDate": iso(min(dates)) if dates else None,
        "lastResponseDate": iso(max(dates)) if dates else None,
        "totalCompleteResponses": len(complete),
        "totalIncompleteResponses": len(responses) - len(complete),
    }
    for name in (
        "totalCompleteResponsesInLastDay", "totalCompleteResponsesInLastWeek", "totalViews",
        "totalBounces", "sourceDirectTotal", "sourceEmailTotal", "sourceEmbeddedTotal",
        "sourcePopoverTotal", "sourceFacebookTotal", "sourceTwitterTotal",
        "sourceGooglePlusTotal", "sourceOtherTotal",
    ):  # fmt: skip
        body[name] = 0
    body.update(timeToCompleteMax=None, timeToCompleteMin=None, timeToCompleteTotal=None)
    return body


def field_json(record: FieldRecord) -> dict[str, Any]:
    """`ApiSurveyField`."""
    return {
        "id": record.id,
        "type": record.type,
        "text": record.text,
        "isRequired": record.is_required,
        "defaultValue": None,
        "mode": "singleline" if record.type in ("email", "singlelinetext") else None,
        "choices": [{"id": c.id, "text": c.text} for c in record.choices],
        "subFields": [field_json(sub) for sub in record.sub_fields],
        "hasOtherOption": False,
        "otherOptionChoiceId": 0,
        "otherOptionSubFieldId": 0,
        "otherOptionTextFieldId": 0,
        "isAssignedToContactDataField": record.type == "email",
        "assignedContactDataFieldName": "Email" if record.type == "email" else None,
        "assignedContactDataExistsAction": "OverwriteData",
    }


def response_json(record: ResponseRecord) -> dict[str, Any]:
    """`ApiSurveyResponse`."""
    return {
        "id": record.id,
        "email": record.email,
        "started": True,
        "dateStarted": iso(record.date_started),
        "complete": record.complete,
        "dateCompleted": iso(record.date_completed) if record.date_completed else None,
        "givenAnswers": [
            {"fieldId": a.field_id, "subFieldId": a.sub_field_id, "value": a.value}
            for a in record.answers
        ],
    }


def routes(state: DotdigitalState, endpoint: Endpoint) -> list[BaseRoute]:
    def window(request: Request) -> tuple[int, int]:
        select, skip = select_skip(request, default=MAX_SELECT, maximum=MAX_SELECT)
        skip = 0 if state.ignore_skip else skip
        return skip, skip + select

    def listed(request: Request, since: float | None) -> Response:
        start, stop = window(request)
        with state.lock:
            rows = [
                s
                for s in state.surveys.surveys.values()
                if since is None or s.last_activity() >= since
            ]
            if bool_param(request, "assignedToAddressBookOnly"):
                rows = []  # no sandbox survey is assigned to an address book
            return json_response([survey_json(s) for s in rows[start:stop]])

    def find(request: Request) -> SurveyRecord | None:
        survey_id = path_int(request, "id")
        if survey_id is None or survey_id in state.surveys.deleted_after_listing:
            return None
        return state.surveys.surveys.get(survey_id)

    async def list_surveys(request: Request) -> Response:
        return listed(request, None)

    async def with_activity_since(request: Request) -> Response:
        return listed(request, path_date(request))

    async def get_survey(request: Request) -> Response:
        with state.lock:
            survey = find(request)
            if survey is None:
                return v2_error(404, SURVEY_NOT_FOUND)
            return json_response(survey_json(survey))

    async def fields(request: Request) -> Response:
        with state.lock:
            survey = find(request)
            if survey is None:
                return v2_error(404, SURVEY_NOT_FOUND)
            pages = [
                {"id": p.id, "name": p.name, "fields": [field_json(f) for f in p.fields]}
                for p in survey.pages
            ]
            return json_response(pages)

    def answered(request: Request, since: float | None) -> Response:
        start, stop = window(request)
        with state.lock:
            survey = find(request)
            if survey is None:
                return v2_error(404, SURVEY_NOT_FOUND)
            rows = [
                r for r in survey.responses.values() if since is None or r.last_activity >= since
            ]
            return json_response([response_json(r) for r in rows[start:stop]])

    async def responses(request: Request) -> Response:
        return answered(request, None)

    async def responses_since(request: Request) -> Response:
        return answered(request, path_date(request))

    return [
        Route(SURVEYS, endpoint(list_surveys), methods=["GET"]),
        Route(SURVEYS_WITH_ACTIVITY_SINCE, endpoint(with_activity_since), methods=["GET"]),
        Route(SURVEY_FIELDS, endpoint(fields), methods=["GET"]),
        Route(SURVEY_RESPONSES_SINCE, endpoint(responses_since), methods=["GET"]),
        Route(SURVEY_RESPONSES, endpoint(responses), methods=["GET"]),
        Route(SURVEY, endpoint(get_survey), methods=["GET"]),
    ]
