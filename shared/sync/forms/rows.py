"""The Dynamics rows of a form: ids and bodies of the form, its questions and options, and of a
response and its answers.

Every id is uuid5 of the account and the platform's ids (form, field, choice, response), so a
replayed page, a redelivered message or a re-read response writes the same rows again, never
second ones. A matrix's rows (sub-fields) become questions of their own, named after the
matrix and the row; their choices are the matrix's, so the options hang under the matrix.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dotdigital.surveys import (
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyField,
    SurveyResponse,
)
from shared.dynamics_schema.engagement import (
    FORM,
    FORM_ANSWER,
    FORM_QUESTION,
    FORM_QUESTION_OPTION,
    FORM_RESPONSE,
)

NAMESPACE = uuid.UUID("5d7c2e90-4b1a-4f6e-8c3d-2a9e71b0f4c8")


def row_id(account_id: str, *parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join([account_id, *map(str, parts)])))


def form_id(account_id: str, survey_id: int) -> str:
    return row_id(account_id, "form", survey_id)


def response_id(account_id: str, survey_id: int, platform_id: int) -> str:
    return row_id(account_id, "form", survey_id, "response", platform_id)


def _text(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _bind(entity_set: str, key: str) -> str:
    return f"/{entity_set}({key})"


@dataclass(frozen=True)
class Question:
    """A question as answers need it: its row, text, and the choices its answers pick from
    (with the field whose options hold them: the matrix, for a matrix row)."""

    row: str
    text: str
    choices: dict[int, SurveyChoice]
    options_of: int


class FormRows:
    """One form's rows for one account."""

    def __init__(self, account_id: str, survey_id: int) -> None:
        self.account_id = account_id
        self.survey_id = survey_id
        self.form_row = form_id(account_id, survey_id)
        self.questions: dict[int, Question] = {}  # by field id (a matrix's rows too)

    def _id(self, *parts: object) -> str:
        return row_id(self.account_id, "form", self.survey_id, *parts)

    def form(self, survey: Survey) -> BatchRequest:
        body = {
            "dms_name": (survey.name or f"Form {survey.id}")[:200],
            "dms_platformid": survey.id,
            "dms_emailaccountid": self.account_id,
            "dms_url": survey.url[:1000] or None,
            "dms_state": survey.state[:50] or None,
            "dms_formcreatedon": _text(survey.created),
            "dms_completeresponses": survey.complete_responses,
        }
        return BatchRequest.upsert(FORM.entity_set, self.form_row, body)

    def structure(self, fields: list[SurveyField]) -> tuple[list[BatchRequest], int, int]:
        """Upserts of the questions and options (learning them for the answers), and how many
        of each."""
        requests: list[BatchRequest] = []
        options = 0
        order = 0
        for item in fields:
            order += 1
            requests.append(self._question(item, item.text, order, None))
            for sub in item.sub_fields:
                order += 1
                requests.append(self._question(sub, f"{item.text} - {sub.text}", order, item))
            for choice in item.choices:
                requests.append(self._option(item, choice))
                options += 1
            for sub in item.sub_fields:
                for choice in sub.choices:  # a row with choices of its own
                    requests.append(self._option(sub, choice))
                    options += 1
        return requests, len(requests) - options, options

    def _question(
        self, item: SurveyField, text: str, order: int, parent: SurveyField | None
    ) -> BatchRequest:
        key = self._id("question", item.id)
        choices = {c.id: c for c in item.choices}
        options_of = item.id
        if not choices and parent is not None:  # a matrix row: the matrix's choices
            choices, options_of = {c.id: c for c in parent.choices}, parent.id
        self.questions[item.id] = Question(key, text, choices, options_of)
        body = {
            "dms_text": (text or f"Question {item.id}")[:1000],
            "dms_formid@odata.bind": _bind(FORM.entity_set, self.form_row),
            "dms_platformid": item.id,
            "dms_emailaccountid": self.account_id,
            "dms_type": item.type[:50] or None,
            "dms_isrequired": item.required,
            "dms_order": order,
        }
        return BatchRequest.upsert(FORM_QUESTION.entity_set, key, body)

    def _option(self, item: SurveyField, choice: SurveyChoice) -> BatchRequest:
        body = {
            "dms_text": (choice.text or f"Option {choice.id}")[:500],
            "dms_formquestionid@odata.bind": _bind(
                FORM_QUESTION.entity_set, self._id("question", item.id)
            ),
            "dms_platformid": choice.id,
            "dms_emailaccountid": self.account_id,
        }
        return BatchRequest.upsert(
            FORM_QUESTION_OPTION.entity_set, self._option_id(item.id, choice.id), body
        )

    def _option_id(self, field_id: int, choice_id: int) -> str:
        return self._id("option", field_id, choice_id)

    def response(
        self, item: SurveyResponse, contact: str | None, lead: str | None
    ) -> list[BatchRequest]:
        """The response's upsert, then its answers' (which refer to it)."""
        key = response_id(self.account_id, self.survey_id, item.id)
        body: dict[str, Any] = {
            "dms_email": (item.email.strip() or f"Response {item.id}")[:100],
            "dms_formid@odata.bind": _bind(FORM.entity_set, self.form_row),
            "dms_platformid": item.id,
            "dms_emailaccountid": self.account_id,
            "dms_complete": item.complete,
            "dms_startedon": _text(item.started),
            "dms_completedon": _text(item.completed),
            "dms_answercount": len(item.answers),
        }
        if contact is not None:
            body["dms_contactid@odata.bind"] = _bind("contacts", contact)
        if lead is not None:
            body["dms_leadid@odata.bind"] = _bind("leads", lead)
        requests = [BatchRequest.upsert(FORM_RESPONSE.entity_set, key, body)]
        requests += [self._answer(key, item.id, answer) for answer in item.answers]
        return requests

    def _answer(self, response_row: str, platform_id: int, answer: SurveyAnswer) -> BatchRequest:
        field_id = answer.sub_field_id if answer.sub_field_id is not None else answer.field_id
        question = self.questions.get(field_id) or self.questions.get(answer.field_id)
        value = answer.value or ""
        choice = None
        if question is not None and value.isdigit():
            choice = question.choices.get(int(value))
        key = self._id("response", platform_id, "answer", answer.field_id,
                       answer.sub_field_id or "-", choice.id if choice else "-")  # fmt: skip
        text = choice.text if choice is not None else value
        name = f"{question.text}: {text}" if question is not None else text
        body: dict[str, Any] = {
            "dms_name": (name or f"Answer to {field_id}")[:500],
            "dms_formresponseid@odata.bind": _bind(FORM_RESPONSE.entity_set, response_row),
            "dms_emailaccountid": self.account_id,
            "dms_value": text[:4000],
        }
        if question is not None:
            body["dms_formquestionid@odata.bind"] = _bind(FORM_QUESTION.entity_set, question.row)
        if question is not None and choice is not None:
            option = self._option_id(question.options_of, choice.id)
            body["dms_formquestionoptionid@odata.bind"] = _bind(
                FORM_QUESTION_OPTION.entity_set, option
            )
        return BatchRequest.upsert(FORM_ANSWER.entity_set, key, body)
