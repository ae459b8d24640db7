"""A page of form responses against the Dataverse sandbox: what is written, what a re-read
finds unchanged, and how rows of two email accounts stay apart."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.dataverse.state import DataverseState
from shared.clients import DataverseClient
from shared.clients.dotdigital.surveys import (
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyField,
    SurveyResponse,
)
from shared.sync.forms import pages
from shared.sync.forms.rows import FormRows

EMAIL_COLUMNS = ("emailaddress1", "emailaddress1")
STARTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FIELDS = [
    SurveyField(id=1, type="email", text="Email"),
    SurveyField(id=2, type="radiolist", text="Colour",
                choices=(SurveyChoice(id=10, text="Red"), SurveyChoice(id=11, text="Blue"))),
]  # fmt: skip


def _response(number: int, *, complete: bool = True, colour: int = 10) -> SurveyResponse:
    return SurveyResponse(
        id=number,
        email=f"r{number}@example.com",
        complete=complete,
        started=STARTED,
        completed=STARTED.replace(minute=5) if complete else None,
        answers=(SurveyAnswer(field_id=1, value=f"r{number}@example.com"),
                 SurveyAnswer(field_id=2, value=str(colour))),
    )  # fmt: skip


def _form(client: DataverseClient, account_id: str) -> FormRows:
    rows = FormRows(account_id, 7001)
    structure, _, _ = rows.structure(FIELDS)
    outcome = client.execute_batch([rows.form(Survey(id=7001, name="Colours")), *structure])
    assert all(result.ok for result in outcome.results)
    return rows


def _rows(dv: DataverseState, table: str) -> list[dict[str, object]]:
    found = [dv.row(table, key) for key in dv.table(table).rows]
    return [row for row in found if row is not None]


def test_a_reread_response_is_written_again_only_once_completed_or_answered_more(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    rows = _form(dataverse_client, "acme")
    page = [_response(1), _response(2, complete=False), _response(3, complete=False)]
    first = pages.decide(dataverse_client, rows, page, EMAIL_COLUMNS)
    counts, answers = first.counts(3)
    assert (counts.read, counts.created, counts.updated, answers) == (3, 3, 0, 6)
    assert pages.write(dataverse_client, first).failed == []

    unchanged = pages.decide(dataverse_client, rows, page, EMAIL_COLUMNS)
    assert unchanged.writes == []  # the clock-skew margin's re-read: nothing to write or count

    more = page[2].model_copy(update={"answers": (*page[2].answers, SurveyAnswer(field_id=3))})
    later = [page[0], _response(2), more]  # 2 completed since, 3 answered one more question
    again = pages.decide(dataverse_client, rows, later, EMAIL_COLUMNS)
    counts, answers = again.counts(3)
    assert [w.response.id for w in again.writes] == [2, 3]
    assert (counts.created, counts.updated, answers) == (0, 2, 5)
    assert pages.write(dataverse_client, again).failed == []
    assert len(_rows(dv, "dms_formresponse")) == 3 and len(_rows(dv, "dms_formanswer")) == 7


def test_a_changed_choice_links_its_option_and_two_accounts_rows_stay_apart(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    for account_id in ("acme", "globex"):
        rows = _form(dataverse_client, account_id)
        decision = pages.decide(dataverse_client, rows, [_response(1, colour=11)], EMAIL_COLUMNS)
        assert pages.write(dataverse_client, decision).failed == []

    responses = _rows(dv, "dms_formresponse")
    assert sorted(str(r["dms_emailaccountid"]) for r in responses) == ["acme", "globex"]
    options = {str(o["dms_formquestionoptionid"]): o for o in _rows(dv, "dms_formquestionoption")}
    linked = [a for a in _rows(dv, "dms_formanswer") if a["_dms_formquestionoptionid_value"]]
    assert len(linked) == 2
    for answer in linked:
        option = options[str(answer["_dms_formquestionoptionid_value"])]
        assert option["dms_text"] == "Blue" and answer["dms_value"] == "Blue"
        assert option["dms_emailaccountid"] == answer["dms_emailaccountid"]


def test_a_response_dynamics_refuses_is_reported_with_the_answers_it_took(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    rows = _form(dataverse_client, "acme")
    contact = dv.insert("contact", {"emailaddress1": "r2@example.com", "lastname": "R"})
    decision = pages.decide(dataverse_client, rows, [_response(1), _response(2)], EMAIL_COLUMNS)
    dv.delete("contact", contact)  # deleted between the lookup and the write

    outcome = pages.write(dataverse_client, decision)

    [(refused, why)] = outcome.failed
    assert refused.response.id == 2 and "Does Not Exist" in why
    assert outcome.answers_lost == 2  # its answers could not point at it
    assert [r["dms_platformid"] for r in _rows(dv, "dms_formresponse")] == [1]
