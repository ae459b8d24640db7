"""Forms: pages and forms (surveys) with activity since the last run -> form, question, option,
response and answer rows in Dynamics.

The run lists the forms with activity since the account's watermark (`GET /v2/surveys/
with-activity-since/{date}`, read whole when the run starts: their ids are the plan). Per form:
the form, its questions and options (`GET /v2/surveys/{id}/fields`), one `$batch` of upserts;
then its responses since the form's own watermark (`.../responses/with-activity-since/{date}`,
pages of 500, the position checkpointed), each page one `$batch` of reads and one of writes
(`pages`). A page's counts are checkpointed before its writes, so the replay of a page whose
worker died after writing counts those responses as the page's own (as an unkilled run does),
not as found unchanged.

One audit detail per form with something new (item = the form's name). A form that fails (the
platform or Dynamics refusing it) fails its detail, keeps its watermark and the account's (so
the next run lists it again), and the run goes on: Completed With Errors. Watermarks commit
when the run completes; a response that could not be written holds its form's back.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from pydantic import BaseModel

from shared.accounts import Platform
from shared.audit import AuditDetail, AuditStatus, Counts, Messages
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dotdigital.client import DotdigitalClient
from shared.clients.dotdigital.surveys import SURVEYS_MAX_SELECT, Survey
from shared.dynamics_schema.engagement import FORM
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
    WatermarkWindow,
)
from shared.errors import ApiError
from shared.mappings.model import MappedEntity
from shared.sync.forms import pages
from shared.sync.forms.rows import FormRows
from shared.sync.marketing_lists.values import email_field
from shared.sync_types import SyncType

WATERMARK_KEY = f"{SyncType.FORMS.value}-Watermark"
CLOCK_SKEW = timedelta(minutes=1)  # read a margin before the watermark: the clocks differ
FIRST_READ_FROM = datetime(2000, 1, 1, tzinfo=UTC)  # a form read for the first time: all of it
MAX_ERRORS = 5  # failure messages kept per form
MEMO_FORMS = "forms.listed"  # the forms start() listed, for run() in the same slice


def form_watermark_key(survey_id: int) -> str:
    return f"{SyncType.FORMS.value}-Form-{survey_id}"


class FormTally(BaseModel):
    """The form in progress: its name, counts (responses) and what else it wrote."""

    name: str = ""
    new: bool | None = None  # its form row was not in Dynamics (decided before writing it)
    questions: int = 0
    options: int = 0
    counts: Counts = Counts()
    answers: int = 0
    errors: list[str] = []

    def fail(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message[:300])


class PagePlan(BaseModel):
    """A page whose writes are under way: its position and its counts as decided."""

    skip: int
    counts: Counts
    answers: int
    new: list[int] = []  # the responses it counts as new (at most a page: 500 ids)


class FormsCursor(Cursor):
    version: ClassVar[int] = 1

    window: WatermarkWindow  # forms with activity since
    forms: list[int] = []  # the plan: platform ids of the forms to sync
    index: int = 0  # the form in progress
    stage: Literal["form", "responses"] = "form"
    skip: int = 0  # v2 position in the form's responses after the last page done
    tally: FormTally = FormTally()
    in_flight: PagePlan | None = None
    failed: list[int] = []  # forms that failed: their watermark stays
    holds: dict[str, datetime] = {}  # form id -> the earliest response to read again
    details: int = 0
    failed_details: int = 0


class Forms(SyncTypeTemplate[FormsCursor]):
    declaration = SyncDeclaration(
        SyncType.FORMS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.TO_DYNAMICS,
        summary="pages and forms, their questions, responses and answers -> form rows",
    )
    cursor_model = FormsCursor

    def __init__(self, *, page_size: int = SURVEYS_MAX_SELECT) -> None:
        self.page_size = page_size

    def start(self, run: Run[FormsCursor]) -> FormsCursor:
        window = run.watermark(WATERMARK_KEY)
        since = window.read_from(CLOCK_SKEW) or FIRST_READ_FROM
        listed = list(run.platform(DotdigitalClient).iter_surveys_with_activity_since(since))
        run.memo[MEMO_FORMS] = {form.id: form for form in listed}
        return FormsCursor(window=window, forms=[form.id for form in listed])

    def watermarks(self, cursor: FormsCursor) -> list[WatermarkWindow]:
        windows = []
        for survey_id in cursor.forms:
            window = WatermarkWindow(
                key=form_watermark_key(survey_id), started=cursor.window.started
            )
            if survey_id in cursor.failed:
                window.keep_old()
            held = cursor.holds.get(str(survey_id))
            if held is not None:
                window.hold_back(held)
                cursor.window.hold_back(held)  # the form must be listed again
            windows.append(window)
        if cursor.failed:
            cursor.window.keep_old()
        return [cursor.window, *windows]

    def run(self, run: Run[FormsCursor]) -> Steps:
        cursor = run.cursor
        platform = run.platform(DotdigitalClient)
        dataverse = run.services.dataverse()
        while cursor.index < len(cursor.forms):
            survey_id = cursor.forms[cursor.index]
            try:
                yield from self._sync_form(run, platform, dataverse, survey_id)
            except ApiError as error:  # this form only: the platform or Dynamics refused it
                cursor.failed.append(survey_id)
                cursor.tally.fail(str(error))
                cursor.tally.counts += Counts(failed=1)
                run.counts += Counts(failed=1)
            _finish_form(run, survey_id)
            cursor.index += 1
            cursor.stage, cursor.skip, cursor.tally, cursor.in_flight = "form", 0, FormTally(), None
            yield
        return _result(run)

    def _sync_form(
        self,
        run: Run[FormsCursor],
        platform: DotdigitalClient,
        dataverse: DataverseClient,
        survey_id: int,
    ) -> Generator[None, None, None]:
        cursor = run.cursor
        tally = cursor.tally
        rows = FormRows(run.account.account_id, survey_id)
        listed: Survey | None = run.memo.get(MEMO_FORMS, {}).get(survey_id)
        tally.name = tally.name or (listed.name if listed is not None else "")
        fields = platform.survey_fields(survey_id)  # every slice: the answers need them
        structure, questions, options = rows.structure(fields)
        if cursor.stage == "form":
            survey = listed or platform.get_survey(survey_id)
            tally.name, tally.questions, tally.options = survey.name, questions, options
            if tally.new is None:
                # Whether the form is new, decided (and saved) before its row is written: a
                # replay after a kill would find it there.
                tally.new = not _exists(dataverse, rows.form_row)
                run.save_only()
                yield
            written = dataverse.execute_batch([rows.form(survey), *structure])
            failed = next((r for r in written.results if not r.ok), None)
            if failed is not None:
                raise ApiError(f"the form's rows could not be written: {failed.why}", status=400)
            cursor.stage = "responses"
            yield
        stored = run.watermark(form_watermark_key(survey_id)).since
        since = stored - CLOCK_SKEW if stored is not None else FIRST_READ_FROM
        mappings = run.services.mappings.for_account(run.account.account_id)
        columns = (
            email_field(mappings, MappedEntity.CONTACT),
            email_field(mappings, MappedEntity.LEAD),
        )
        responses = platform.iter_survey_responses_since(
            survey_id, since, select=self.page_size, skip=cursor.skip
        )
        for page in responses.pages():
            decision = pages.decide(dataverse, rows, page.items, columns)
            plan = cursor.in_flight
            if plan is None or plan.skip != cursor.skip:
                counts, answers = decision.counts(len(page.items))
                new = [w.response.id for w in decision.writes if w.new]
                plan = PagePlan(skip=cursor.skip, counts=counts, answers=answers, new=new)
                if decision.writes:  # nothing to write: a replay decides the same
                    cursor.in_flight = plan
                    run.save_only()
                    yield
            outcome = pages.write(dataverse, decision)
            counts = plan.counts.model_copy()
            for item, why in decision.failures:
                tally.fail(f"{item.email or item.id}: {why}")
                _hold(cursor, survey_id, item.last_activity)
            for write, why in outcome.failed:
                # As the plan counted it: on a replay, a response the dead attempt created
                # is found there, but it is still this page's new response.
                if write.response.id in plan.new:
                    counts.created -= 1
                else:
                    counts.updated -= 1
                counts.failed += 1
                tally.fail(f"{write.response.email or write.response.id}: {why}")
                _hold(cursor, survey_id, write.response.last_activity)
            tally.counts += counts
            tally.answers += plan.answers - outcome.answers_lost
            run.counts += counts
            cursor.in_flight = None
            if page.resume is None:
                break  # the last page's work is saved with the form's end
            cursor.skip = page.resume
            yield


def _exists(dataverse: DataverseClient, form_row: str) -> bool:
    key = FORM.primary_id
    rows = dataverse.iter_records(FORM.entity_set, [key], filter=f"{key} eq {form_row}")
    return next(iter(rows), None) is not None


def _hold(cursor: FormsCursor, survey_id: int, moment: datetime | None) -> None:
    moment = moment or cursor.window.started
    key = str(survey_id)
    if key not in cursor.holds or moment < cursor.holds[key]:
        cursor.holds[key] = moment


def _finish_form(run: Run[FormsCursor], survey_id: int) -> None:
    """The form's detail row, when it had something new or a problem."""
    cursor = run.cursor
    tally = cursor.tally
    counts = tally.counts
    if not (tally.new or counts.created or counts.updated or counts.failed or tally.errors):
        return
    status = AuditStatus.COMPLETED
    if survey_id in cursor.failed or (counts.failed and not (counts.created or counts.updated)):
        status = AuditStatus.FAILED
    elif counts.failed or tally.errors:
        status = AuditStatus.COMPLETED_WITH_ERRORS
    text = (
        f"{counts.created} new responses, {counts.updated} updated, {tally.answers} answers; "
        f"{tally.questions} questions, {tally.options} options"
    )
    if tally.errors:
        text += f"; {counts.failed} failed: " + "; ".join(tally.errors)
    name = tally.name or f"Form {survey_id}"
    run.detail(AuditDetail(item=name, key=f"form {survey_id}", status=status, message=text,
                           counts=counts))  # fmt: skip
    cursor.details += 1
    if status is not AuditStatus.COMPLETED:
        cursor.failed_details += 1


def _result(run: Run[FormsCursor]) -> SyncResult:
    cursor = run.cursor
    counts = run.counts
    if not cursor.details:
        return SyncResult(AuditStatus.COMPLETED, Messages.NO_NEW_OBJECTS)
    text = f"{cursor.details} forms: {counts.created} new responses, {counts.updated} updated"
    if not cursor.failed_details:
        return SyncResult(AuditStatus.COMPLETED, text)
    text += f"; {cursor.failed_details} forms with errors"
    written = counts.created or counts.updated
    failed_all = cursor.failed_details == cursor.details and not written
    return SyncResult(AuditStatus.FAILED if failed_all else AuditStatus.COMPLETED_WITH_ERRORS, text)
