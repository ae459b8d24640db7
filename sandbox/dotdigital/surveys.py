"""Pages and forms (surveys) of the sandbox account: pages of fields (questions, with choices and
sub-fields), responses with their given answers, and a deterministic generator.

A survey's activity is its last modification or the last start or completion of a response;
a response's activity is its start or completion, whichever is later (what the
`with-activity-since` reads compare with). Choice answers carry the choice id as their value,
as the pages-and-forms reference's example does (`{"fieldId": 9, "value": 6}`).
INFERRED: a multiple-choice field (`checkboxlist`) answers one given answer per chosen choice;
the public references show only a single-choice example.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

CHOICE_TYPES = frozenset({"radiolist", "dropdown", "checkboxlist", "matrix"})


@dataclass(eq=False)
class ChoiceRecord:
    id: int
    text: str


@dataclass(eq=False)
class FieldRecord:
    id: int
    type: str  # email, singlelinetext, radiolist, checkboxlist, dropdown, matrix, ...
    text: str
    is_required: bool = False
    choices: list[ChoiceRecord] = field(default_factory=list)
    sub_fields: list[FieldRecord] = field(default_factory=list)  # a matrix's rows


@dataclass(eq=False)
class PageRecord:
    id: int
    name: str | None
    fields: list[FieldRecord] = field(default_factory=list)


@dataclass(eq=False)
class AnswerRecord:
    field_id: int
    value: str | int | None
    sub_field_id: int | None = None


@dataclass(eq=False)
class ResponseRecord:
    id: int
    email: str
    date_started: float
    date_completed: float | None = None
    answers: list[AnswerRecord] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.date_completed is not None

    @property
    def last_activity(self) -> float:
        return max(self.date_started, self.date_completed or 0.0)


@dataclass(eq=False)
class SurveyRecord:
    id: int
    name: str
    created: float
    modified: float
    state: str = "Active"
    pages: list[PageRecord] = field(default_factory=list)
    responses: dict[int, ResponseRecord] = field(default_factory=dict)  # by id, in order

    def fields(self) -> list[FieldRecord]:
        return [f for page in self.pages for f in page.fields]

    def last_activity(self) -> float:
        latest = max((r.last_activity for r in self.responses.values()), default=0.0)
        return max(self.modified, latest)


class SurveyStore:
    """The account's surveys; ids count up per kind, as the platform's do."""

    def __init__(self) -> None:
        self.surveys: dict[int, SurveyRecord] = {}
        # Test switch: surveys still listed whose own calls answer 404, as a form deleted
        # between the list and the read does.
        self.deleted_after_listing: set[int] = set()
        self._next = {"survey": 7_001, "page": 1, "field": 101, "choice": 1_001, "response": 1}

    def next_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] += 1
        return value

    def add_survey(self, name: str, when: float, *, state: str = "Active") -> SurveyRecord:
        survey = SurveyRecord(self.next_id("survey"), name, when, when, state)
        survey.pages.append(PageRecord(self.next_id("page"), None))
        self.surveys[survey.id] = survey
        return survey

    def add_field(
        self,
        survey: SurveyRecord,
        kind: str,
        text: str,
        *,
        choices: tuple[str, ...] = (),
        rows: tuple[str, ...] = (),
        required: bool = False,
    ) -> FieldRecord:
        """A field on the survey's last page; `choices` for choice fields, `rows` a matrix's."""
        record = FieldRecord(self.next_id("field"), kind, text, required)
        record.choices = [ChoiceRecord(self.next_id("choice"), c) for c in choices]
        record.sub_fields = [FieldRecord(self.next_id("field"), "radiolist", r) for r in rows]
        survey.pages[-1].fields.append(record)
        return record

    def add_response(
        self,
        survey: SurveyRecord,
        email: str,
        answers: list[AnswerRecord],
        started: float,
        completed: float | None,
    ) -> ResponseRecord:
        response = ResponseRecord(self.next_id("response"), email, started, completed, answers)
        survey.responses[response.id] = response
        return response


def generate(
    store: SurveyStore,
    rng: random.Random,
    emails: list[str],
    *,
    surveys: int,
    responses_per_survey: int,
    start: float,
    now: float,
) -> list[int]:
    """`surveys` forms of four questions (email, text, single choice, multiple choice), each
    answered by `responses_per_survey` of the emails at dates inside [start, now]."""
    ids = []
    for number in range(1, surveys + 1):
        survey = store.add_survey(f"Survey {number}", float(int(start)))
        email_field = store.add_field(survey, "email", "Email address", required=True)
        comment = store.add_field(survey, "multilinetext", "Any comments?")
        age = store.add_field(
            survey, "radiolist", "Your age range", choices=("Under 25", "25-44", "45 or above")
        )
        topics = store.add_field(
            survey, "checkboxlist", "Topics you like", choices=("News", "Offers", "Events")
        )
        for email in rng.sample(emails, min(responses_per_survey, len(emails))):
            started = float(int(start + rng.random() * (now - start)))
            completed = started + 60 if rng.random() < 0.9 else None
            answers = [
                AnswerRecord(email_field.id, email),
                AnswerRecord(age.id, age.choices[int(rng.random() * 3)].id),
            ]
            # INFERRED: a multiple choice answers one given answer per choice ticked (the
            # references show a single-choice answer only).
            answers += [AnswerRecord(topics.id, c.id) for c in topics.choices if rng.random() < 0.4]
            if rng.random() < 0.5:
                answers.append(AnswerRecord(comment.id, f"Comment from {email}"))
            store.add_response(survey, email, answers, started, completed)
        ids.append(survey.id)
    return ids
