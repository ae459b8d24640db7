"""Forms through the pipeline (timer -> Azurite queue -> worker) against both sandboxes: pages
and forms with their questions, options, responses and answers become form rows in Dynamics,
each response linked to the contact or lead with its email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.api_surveys import SURVEY_RESPONSES_SINCE
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.surveys import AnswerRecord, SurveyRecord
from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord, AuditStatus, Messages
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.worker import Outcome, Worker
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.forms.rows import form_id, response_id
from shared.sync.forms.sync_type import WATERMARK_KEY, Forms, form_watermark_key
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock, pause_every_slice_at_its_first_checkpoint
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled, take_queued
from tests.pipeline.kills import die_at_save, finish_after_lease, run_until_killed

FORMS = SyncType.FORMS


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


def _ago(clock: ManualClock, **delta: float) -> float:
    return (clock.now - timedelta(**delta)).timestamp()


def _survey(dd: DotdigitalState, name: str, when: float) -> SurveyRecord:
    """A form: email, a single choice, a multiple choice, a matrix of two rows, a comment."""
    with dd.lock:
        store = dd.surveys
        survey = store.add_survey(name, when)
        store.add_field(survey, "email", "Email address", required=True)
        store.add_field(survey, "radiolist", "Age", choices=("Under 25", "25 or over"))
        store.add_field(survey, "checkboxlist", "Topics", choices=("News", "Offers", "Events"))
        store.add_field(survey, "matrix", "Rate", choices=("Poor", "Good"), rows=("Food", "Venue"))
        store.add_field(survey, "multilinetext", "Comments")
        return survey


def _respond(
    dd: DotdigitalState, survey: SurveyRecord, email: str, when: float, *, complete: bool = True,
    age: int = 0, topics: tuple[int, ...] = (), comment: str | None = None,
) -> int:  # fmt: skip
    """A response: the email, an age, some topics, the matrix rated, maybe a comment."""
    with dd.lock:
        email_q, age_q, topics_q, matrix, comments = survey.fields()
        answers = [AnswerRecord(email_q.id, email), AnswerRecord(age_q.id, age_q.choices[age].id)]
        answers += [AnswerRecord(topics_q.id, topics_q.choices[t].id) for t in topics]
        answers += [
            AnswerRecord(matrix.id, matrix.choices[1].id, sub.id) for sub in matrix.sub_fields
        ]
        if comment is not None:
            answers.append(AnswerRecord(comments.id, comment))
        completed = when + 60 if complete else None
        return dd.surveys.add_response(survey, email, answers, when, completed).id


def _person(dv: DataverseState, table: str, email: str) -> str:
    return dv.insert(table, {"emailaddress1": email, "lastname": email.split("@")[0]})


def _rows(dv: DataverseState, table: str) -> list[dict[str, Any]]:
    rows = [dv.row(table, key) for key in dv.table(table).rows]
    return [r for r in rows if r is not None]


def _state(dv: DataverseState) -> dict[str, list[dict[str, Any]]]:
    """Every form row, without the columns a rewrite changes (modifiedon, version)."""
    tables = ("dms_form", "dms_formquestion", "dms_formquestionoption", "dms_formresponse",
              "dms_formanswer")  # fmt: skip
    volatile = {"modifiedon", "versionnumber", "@odata.etag", "createdon"}
    return {
        t: sorted(
            ({k: v for k, v in r.items() if k not in volatile} for r in _rows(dv, t)),
            key=lambda r: str(sorted(r.items())),
        )
        for t in tables
    }


def _details(rt: Runtime, audit: AuditRecord) -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details("acme", audit.row_key)}


# Tests ------------------------------------------------------------------------------------------


def test_a_forms_questions_options_responses_and_answers_reach_dynamics(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    contact = _person(dv, "contact", "Ada@Example.com")
    lead = _person(dv, "lead", "ben@example.com")
    survey = _survey(dd, "Event feedback", _ago(clock, days=2))
    ada = _respond(dd, survey, "ada@example.com", _ago(clock, hours=3), age=1, topics=(0, 2),
                   comment="Great day")  # fmt: skip
    _respond(dd, survey, "ben@example.com", _ago(clock, hours=2))
    _respond(dd, survey, "cy@example.com", _ago(clock, hours=1), complete=False)  # no record

    audit = run_scheduled(sync_runtime, host, clock, "acme", FORMS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    [form] = _rows(dv, "dms_form")
    assert form["dms_formid"] == form_id("acme", survey.id)
    assert (form["dms_name"], form["dms_platformid"], form["dms_state"]) == (
        "Event feedback", survey.id, "Active",
    )  # fmt: skip
    assert form["dms_emailaccountid"] == "acme" and form["dms_completeresponses"] == 2
    questions = {q["dms_text"]: q for q in _rows(dv, "dms_formquestion")}
    assert sorted(questions) == sorted(
        ["Email address", "Age", "Topics", "Rate", "Rate - Food", "Rate - Venue", "Comments"]
    )
    assert all(q["_dms_formid_value"] == form["dms_formid"] for q in questions.values())
    options = {o["dms_text"]: o for o in _rows(dv, "dms_formquestionoption")}
    assert len(options) == 7
    assert (
        options["Offers"]["_dms_formquestionid_value"] == questions["Topics"]["dms_formquestionid"]
    )
    assert options["Good"]["_dms_formquestionid_value"] == questions["Rate"]["dms_formquestionid"]

    responses = {r["dms_email"]: r for r in _rows(dv, "dms_formresponse")}
    assert responses["ada@example.com"]["dms_formresponseid"] == response_id("acme", survey.id, ada)
    assert responses["ada@example.com"]["_dms_contactid_value"] == contact
    assert responses["ben@example.com"]["_dms_leadid_value"] == lead
    cy = responses["cy@example.com"]  # nobody in Dynamics has it: kept, with the email
    assert (cy["_dms_contactid_value"], cy["_dms_leadid_value"], cy["dms_complete"]) == (
        None, None, False,
    )  # fmt: skip
    ada_row = responses["ada@example.com"]["dms_formresponseid"]
    answers = [a for a in _rows(dv, "dms_formanswer") if a["_dms_formresponseid_value"] == ada_row]
    by_question: dict[str, list[dict[str, Any]]] = {}
    for answer in answers:
        text = next(t for t, q in questions.items()
                    if q["dms_formquestionid"] == answer["_dms_formquestionid_value"])  # fmt: skip
        by_question.setdefault(text, []).append(answer)
    assert [a["dms_value"] for a in by_question["Age"]] == ["25 or over"]
    age_option = by_question["Age"][0]["_dms_formquestionoptionid_value"]
    assert age_option == options["25 or over"]["dms_formquestionoptionid"]
    assert sorted(a["dms_value"] for a in by_question["Topics"]) == ["Events", "News"]
    assert (
        by_question["Rate - Food"][0]["_dms_formquestionoptionid_value"]
        == (options["Good"]["dms_formquestionoptionid"])
    )
    assert by_question["Comments"][0]["dms_value"] == "Great day"
    assert by_question["Comments"][0]["_dms_formquestionoptionid_value"] is None
    assert len(_rows(dv, "dms_formanswer")) == 7 + 4 + 4

    assert (audit.counts.read, audit.counts.created, audit.counts.failed) == (3, 3, 0)
    detail = _details(sync_runtime, audit)["Event feedback"]
    assert detail.status is AuditStatus.COMPLETED
    assert detail.message == "3 new responses, 0 updated, 15 answers; 7 questions, 7 options"
    assert audit.message == "1 forms: 3 new responses, 0 updated"
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) == clock.now.isoformat()
    stored = sync_runtime.state.get_value("acme", form_watermark_key(survey.id))
    assert stored == clock.now.isoformat()


def test_a_second_run_reads_only_new_responses_and_nothing_new_says_so(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    survey = _survey(dd, "Sign-up", _ago(clock, days=1))
    quiet = _survey(dd, "Quiet form", _ago(clock, days=1))
    for n in range(3):
        _respond(dd, survey, f"p{n}@example.com", _ago(clock, hours=2))
    first = run_scheduled(sync_runtime, host, clock, "acme", FORMS)
    assert first.counts.created == 3
    assert set(_details(sync_runtime, first)) == {"Sign-up", "Quiet form"}  # both new forms

    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "acme", FORMS)
    assert again.status is AuditStatus.COMPLETED and again.message == Messages.NO_NEW_OBJECTS
    assert again.counts.read == 0 and _details(sync_runtime, again) == {}

    clock.advance(minutes=5)
    _respond(dd, survey, "late@example.com", _ago(clock, minutes=2))
    later = run_scheduled(sync_runtime, host, clock, "acme", FORMS)
    assert (later.counts.read, later.counts.created) == (1, 1)
    assert set(_details(sync_runtime, later)) == {"Sign-up"}
    assert len(_rows(dv, "dms_formresponse")) == 4
    # Per run, the form with activity read its responses once; the quiet form only the first time.
    assert dd.counters.count("GET", SURVEY_RESPONSES_SINCE) == 2 + 0 + 1
    assert quiet.id not in {r["dms_platformid"] for r in _rows(dv, "dms_formresponse")}


def test_a_completed_response_is_updated_not_duplicated(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    survey = _survey(dd, "Survey", _ago(clock, days=1))
    started = _ago(clock, hours=1)
    response = _respond(dd, survey, "dee@example.com", started, complete=False)
    run_scheduled(sync_runtime, host, clock, "acme", FORMS)

    clock.advance(minutes=10)
    with dd.lock:
        survey.responses[response].date_completed = _ago(clock, minutes=1)
    audit = run_scheduled(sync_runtime, host, clock, "acme", FORMS)

    assert (audit.counts.read, audit.counts.created, audit.counts.updated) == (1, 0, 1)
    [row] = _rows(dv, "dms_formresponse")
    assert row["dms_complete"] is True


def test_a_redelivered_message_changes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, dv: DataverseState, dd: DotdigitalState,
    clock: ManualClock,
) -> None:  # fmt: skip
    survey = _survey(dd, "Poll", _ago(clock, days=1))
    for n in range(4):
        _respond(dd, survey, f"r{n}@example.com", _ago(clock, hours=1), topics=(1,))
    admin.set_schedule(sync_runtime, "acme", FORMS, EVERY_5)
    assert admin.sync_now(sync_runtime, "acme", FORMS).accepted
    [message] = take_queued(sync_runtime)

    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.FINISHED
    written = _state(dv)
    assert Worker(sync_runtime).handle(message.to_json()) is Outcome.NOT_CURRENT

    assert _state(dv) == written and len(written["dms_formresponse"]) == 4
    [audit] = sync_runtime.audit.recent("acme", sync_type=FORMS)
    assert audit.counts.created == 4


def test_a_run_killed_after_writing_a_page_and_redelivered_ends_like_an_uninterrupted_one(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sync_runtime.registry = catalogue().replaced(Forms(page_size=10))
    first = _survey(dd, "First", _ago(clock, days=1))
    second = _survey(dd, "Second", _ago(clock, days=1))
    for n in range(25):
        _respond(dd, first, f"k{n:02d}@example.com", _ago(clock, hours=2, minutes=-n), age=n % 2)
    for n in range(5):
        _respond(dd, second, f"s{n}@example.com", _ago(clock, hours=1), topics=(0, 1))
    _person(dv, "contact", "k03@example.com")
    pause_every_slice_at_its_first_checkpoint(monkeypatch)
    # Saves: the plan; the first form's "new" decision, its rows, page 1's intent and end,
    # page 2's intent; the worker dies as page 2's end is saved: page 2 is written, unsaved.
    die_at_save(monkeypatch, sync_runtime, 7)
    assert run_until_killed(sync_runtime, host, clock, "acme", FORMS), "the worker never died"
    assert len(_rows(dv, "dms_formresponse")) == 20

    audit = finish_after_lease(sync_runtime, host, clock, "acme", FORMS)
    assert audit.status is AuditStatus.COMPLETED, audit.message
    killed = _state(dv)
    assert len(killed["dms_formresponse"]) == 30
    # The replayed page found its own writes there and counts them once, as new, as an
    # unkilled run does.
    assert (audit.counts.read, audit.counts.created, audit.counts.updated) == (25 + 5, 30, 0)
    details = _details(sync_runtime, audit)
    assert details["First"].message.startswith("25 new responses, 0 updated, 100 answers;")
    assert details["Second"].message.startswith("5 new responses, 0 updated, 30 answers;")


def test_a_429_storm_is_waited_out_and_the_run_completes(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState, sandbox_clock: SandboxClock,
) -> None:  # fmt: skip
    survey = _survey(dd, "Storm", _ago(clock, days=1))
    for n in range(3):
        _respond(dd, survey, f"t{n}@example.com", _ago(clock, hours=1))
    dd.throttle_next(3, reset_in=2)

    audit = run_scheduled(sync_runtime, host, clock, "acme", FORMS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert audit.counts.created == 3 and len(_rows(dv, "dms_formresponse")) == 3
    assert len(sandbox_clock.sleeps) >= 3  # each 429 waited for, not slept


def test_a_form_that_fails_fails_its_detail_and_the_run_goes_on(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    gone = _survey(dd, "Deleted form", _ago(clock, days=1))
    kept = _survey(dd, "Kept form", _ago(clock, days=1))
    _respond(dd, gone, "a@example.com", _ago(clock, hours=1))
    _respond(dd, kept, "b@example.com", _ago(clock, hours=1))
    dd.surveys.deleted_after_listing.add(gone.id)

    audit = run_scheduled(sync_runtime, host, clock, "acme", FORMS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS, audit.message
    details = _details(sync_runtime, audit)
    assert details["Deleted form"].status is AuditStatus.FAILED
    assert "ERROR_SURVEY_NOT_FOUND" in details["Deleted form"].message
    assert details["Kept form"].status is AuditStatus.COMPLETED
    assert [r["dms_email"] for r in _rows(dv, "dms_formresponse")] == ["b@example.com"]
    # The failed form keeps its watermark (none yet) and the account's: listed again next run.
    assert sync_runtime.state.get_value("acme", form_watermark_key(gone.id)) is None
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) is None

    dd.surveys.deleted_after_listing.clear()
    clock.advance(minutes=5)
    again = run_scheduled(sync_runtime, host, clock, "acme", FORMS)
    assert again.status is AuditStatus.COMPLETED, again.message
    assert set(_details(sync_runtime, again)) == {"Deleted form"}
    assert len(_rows(dv, "dms_formresponse")) == 2


def test_a_dry_run_names_what_it_would_write_and_writes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    survey = _survey(dd, "Dry", _ago(clock, days=1))
    _respond(dd, survey, "jo@example.com", _ago(clock, hours=1))

    assert admin.sync_now(sync_runtime, "acme", FORMS, dry_run=True).accepted
    host.drain()

    [audit] = sync_runtime.audit.recent("acme", sync_type=FORMS)
    assert audit.trigger == "Dry run" and audit.status is AuditStatus.COMPLETED, audit.message
    assert _rows(dv, "dms_form") == [] and _rows(dv, "dms_formresponse") == []
    assert sync_runtime.state.get_value("acme", WATERMARK_KEY) is None
    would = _details(sync_runtime, audit)
    assert would["Would PATCH dms_formresponses (Dynamics)"].counts.read == 1
