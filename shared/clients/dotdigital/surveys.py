"""Pages and forms (v2 surveys): the account's forms (all, or with activity since a date), one
form, its pages of fields (questions with their choices), and its responses (all, or with
activity since a date), each response with its given answers.

The lists page with `select` + `skip`; the pages-and-forms reference caps `select` at 500 for
these calls (the generated spec's default of 1000 is refused), so 500 is the default here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import (
    GET_SURVEY,
    LIST_SURVEYS,
    SURVEY_FIELDS,
    SURVEY_RESPONSES,
    SURVEY_RESPONSES_SINCE,
    SURVEYS_WITH_ACTIVITY_SINCE,
    Route,
)
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    bool_field,
    field,
    int_field,
    parse_datetime,
    str_field,
    utc_text,
)

SURVEYS_MAX_SELECT = 500


class Survey(BaseModel):
    """A page or form (`ApiSurvey`), the figures the connector keeps."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    url: str = ""
    state: str = ""
    created: datetime | None = None
    modified: datetime | None = None
    complete_responses: int = 0


def survey(item: Any) -> Survey:
    item = as_object(item, "a survey")
    return Survey(
        id=int_field(item, "id"),
        name=str_field(item, "name"),
        url=str_field(item, "url"),
        state=str_field(item, "state"),
        created=parse_datetime(field(item, "dateSurveyCreated")),
        modified=parse_datetime(field(item, "dateSurveyModified")),
        complete_responses=int_field(item, "totalCompleteResponses"),
    )


class SurveyChoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    text: str


class SurveyField(BaseModel):
    """A question (`ApiSurveyField`); a matrix's rows are its `sub_fields`."""

    model_config = ConfigDict(frozen=True)

    id: int
    type: str
    text: str
    required: bool = False
    choices: tuple[SurveyChoice, ...] = ()
    sub_fields: tuple[SurveyField, ...] = ()


def survey_field(item: Any) -> SurveyField:
    item = as_object(item, "a survey field")
    choices = []
    for choice in field(item, "choices") or []:
        if isinstance(choice, dict):  # the reference's schema types choices as strings once
            choices.append(SurveyChoice(id=int_field(choice, "id"), text=str_field(choice, "text")))
    return SurveyField(
        id=int_field(item, "id"),
        type=str_field(item, "type"),
        text=str_field(item, "text"),
        required=bool_field(item, "isRequired"),
        choices=tuple(choices),
        sub_fields=tuple(
            survey_field(sub) for sub in field(item, "subFields") or [] if isinstance(sub, dict)
        ),
    )


class SurveyAnswer(BaseModel):
    """One given answer: a choice field's value is the choice's id."""

    model_config = ConfigDict(frozen=True)

    field_id: int
    sub_field_id: int | None = None
    value: str | None = None


class SurveyResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    email: str = ""
    complete: bool = False
    started: datetime | None = None
    completed: datetime | None = None
    answers: tuple[SurveyAnswer, ...] = ()

    @property
    def last_activity(self) -> datetime | None:
        dates = [d for d in (self.started, self.completed) if d is not None]
        return max(dates) if dates else None


def survey_response(item: Any) -> SurveyResponse:
    item = as_object(item, "a survey response")
    answers = []
    for answer in field(item, "givenAnswers") or []:
        if not isinstance(answer, dict):
            continue
        sub = field(answer, "subFieldId")
        sub_id = sub if isinstance(sub, int) and not isinstance(sub, bool) else None
        value = field(answer, "value")
        answers.append(
            SurveyAnswer(
                field_id=int_field(answer, "fieldId"),
                sub_field_id=sub_id,
                value=None if value is None else str(value),
            )
        )
    return SurveyResponse(
        id=int_field(item, "id"),
        email=str_field(item, "email"),
        complete=bool_field(item, "complete"),
        started=parse_datetime(field(item, "dateStarted")),
        completed=parse_datetime(field(item, "dateCompleted")),
        answers=tuple(answers),
    )


class SurveysApi(DotdigitalTransport):
    def _survey_list(
        self, route: Route, path: dict[str, Any], select: int, skip: int, what: str
    ) -> Paged[Any, int]:
        check_select(select, SURVEYS_MAX_SELECT)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(route, path=path, params={"select": size, "skip": skip})
            return as_list(page, what)

        convert = survey_response if "responses" in route.template else survey
        return v2_paged(fetch, convert, select=select, what=what, skip=skip)

    def iter_surveys(
        self, *, select: int = SURVEYS_MAX_SELECT, skip: int = 0
    ) -> Paged[Survey, int]:
        return self._survey_list(LIST_SURVEYS, {}, select, skip, "surveys")

    def iter_surveys_with_activity_since(
        self, since: datetime, *, select: int = SURVEYS_MAX_SELECT, skip: int = 0
    ) -> Paged[Survey, int]:
        """Forms with any activity (a change, a response) since `since` (aware datetime)."""
        path = {"date": utc_text(since)}
        return self._survey_list(SURVEYS_WITH_ACTIVITY_SINCE, path, select, skip, "surveys")

    def get_survey(self, survey_id: int) -> Survey:
        return survey(self._get(GET_SURVEY, path={"id": survey_id}))

    def survey_fields(self, survey_id: int) -> list[SurveyField]:
        """The form's questions in page order (the pages themselves are not kept)."""
        pages = as_list(self._get(SURVEY_FIELDS, path={"id": survey_id}), "survey pages")
        fields = []
        for page in pages:
            for item in field(as_object(page, "a survey page"), "fields") or []:
                fields.append(survey_field(item))
        return fields

    def iter_survey_responses(
        self, survey_id: int, *, select: int = SURVEYS_MAX_SELECT, skip: int = 0
    ) -> Paged[SurveyResponse, int]:
        what = f"survey {survey_id} responses"
        return self._survey_list(SURVEY_RESPONSES, {"id": survey_id}, select, skip, what)

    def iter_survey_responses_since(
        self,
        survey_id: int,
        since: datetime,
        *,
        select: int = SURVEYS_MAX_SELECT,
        skip: int = 0,
    ) -> Paged[SurveyResponse, int]:
        """The form's responses started or completed since `since` (aware datetime)."""
        path = {"id": survey_id, "date": utc_text(since)}
        what = f"survey {survey_id} responses"
        return self._survey_list(SURVEY_RESPONSES_SINCE, path, select, skip, what)
