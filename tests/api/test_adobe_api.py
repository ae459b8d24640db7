"""The Adobe Campaign configuration over the admin API (real HTTP, Azurite, the Dataverse
sandbox): the same checks and messages as the CLI, as problem+json with the category's status."""

from __future__ import annotations

import httpx
import pytest

from sandbox.adobe import METADATA
from shared.runtime import Runtime
from tests.api.conftest import problem
from tests.fixtures.adobe_accounts import save_sandbox_adobe_account
from tests.fixtures.sandboxes import AdobeSandbox


@pytest.fixture
def acs(sync_runtime: Runtime, adobe_sandbox: AdobeSandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    save_sandbox_adobe_account(sync_runtime, adobe_sandbox, monkeypatch, "acs")
    return "/accounts/acs/adobe"


def test_a_dotdigital_account_is_refused(api: httpx.Client, acme_api: dict[str, object]) -> None:
    body = problem(api.get("/accounts/acme/adobe"), 422)
    assert body["detail"] == (
        "'acme' is a Dotdigital account: the Adobe Campaign configuration exists only for "
        "Adobe Campaign accounts."
    )
    assert problem(api.get("/accounts/nobody/adobe"), 404)["detail"].startswith(
        "No email account 'nobody'"
    )


def test_tables_fields_rules_and_switches(api: httpx.Client, acs: str) -> None:
    config = api.get(acs).json()
    assert [(t["dynamics_table"], t["campaign_resource"]) for t in config["tables"]] == [
        ("contact", "profile")
    ]
    refused = problem(
        api.put(
            f"{acs}/tables/new_visitlog",
            json={"campaign_resource": "cusVisit", "campaign_key": "crmId"},
        ),
        422,
    )
    assert "does not have change tracking enabled" in refused["detail"]
    answer = api.put(
        f"{acs}/tables/new_loyaltycard",
        json={"campaign_resource": "cusLoyaltyCard", "campaign_key": "crmId"},
    )
    assert answer.status_code == 200, answer.text
    again = api.put(
        f"{acs}/tables/new_loyaltycard",
        json={"campaign_resource": "cusOther", "campaign_key": "crmId"},
    )
    assert "is mapped already" in problem(again, 409)["detail"]

    tables = f"{acs}/tables/new_loyaltycard"
    answer = api.post(
        f"{tables}/fields", json={"dynamics_field": "new_tier", "campaign_field": "tier"}
    )
    assert answer.status_code == 200, answer.text
    assert api.patch(f"{tables}/fields/tier", json={"apply_updates": False}).status_code == 200
    answer = api.post(
        f"{tables}/replacements",
        json={"dynamics_field": "new_tier", "value": "G", "new_value": "Gold"},
    )
    assert answer.status_code == 200, answer.text
    answer = api.post(
        f"{tables}/filter-rules",
        json={"dynamics_field": "new_points", "comparison": "greater-than", "value": "100"},
    )
    assert answer.status_code == 200, answer.text
    unknown = api.post(
        f"{tables}/filter-rules",
        json={"dynamics_field": "new_points", "comparison": "near", "value": "1"},
    )
    assert problem(unknown, 422)["title"]
    answer = api.patch(tables, json={"apply_deletes": True, "filter_join": "Or"})
    assert answer.status_code == 200, answer.text

    loyalty = api.get(acs).json()["tables"][1]
    assert loyalty["fields"][1] == {
        "dynamics_field": "new_tier",
        "campaign_field": "tier",
        "apply_updates": False,
    }
    assert loyalty["replacements"][0]["new_value"] == "Gold"
    assert loyalty["filter"]["join"] == "Or" and loyalty["apply_deletes"] is True

    gone = api.delete(f"{tables}/replacements", params={"dynamics_field": "new_tier", "value": "G"})
    assert gone.status_code == 200, gone.text
    assert api.delete(f"{tables}/filter-rules/1").status_code == 200
    assert problem(api.delete(f"{tables}/filter-rules/1"), 404)["detail"].endswith(
        "there is no rule 1."
    )
    assert api.delete(f"{tables}/fields/tier").status_code == 200
    assert api.delete(tables).status_code == 200
    assert problem(api.delete(tables), 404)["detail"].startswith(
        "The Dynamics table 'new_loyaltycard' is not mapped"
    )


def test_opt_out_and_egress(api: httpx.Client, acs: str) -> None:
    answer = api.patch(
        f"{acs}/opt-out",
        json={
            "mode": "CampaignToDynamics",
            "pairs": [{"campaign_attribute": "denyListPhone", "dynamics_field": "donotphone"}],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "Opt-out CampaignToDynamics: blackListPhone <-> donotphone."
    twice = api.patch(
        f"{acs}/opt-out",
        json={
            "pairs": [
                {"campaign_attribute": "blackListEmail", "dynamics_field": "donotbulkemail"},
                {"campaign_attribute": "denyListEmail", "dynamics_field": "donotemail"},
            ]
        },
    )
    assert "blackListEmail is mapped already" in problem(twice, 409)["detail"]
    answer = api.patch(f"{acs}/egress", json={"send": False, "click_task": False})
    assert answer.status_code == 200, answer.text
    config = api.get(acs).json()
    assert config["opt_out"]["mode"] == "CampaignToDynamics"
    assert config["egress"]["send"] is False and config["egress"]["open"] is True
    assert problem(api.patch(f"{acs}/egress", json={"click_task_due_days": -1}), 422)


def test_a_replay_request_names_the_run_that_will_send_the_table_again(
    api: httpx.Client, acs: str
) -> None:
    answer = api.post(f"{acs}/replay", json={"table": "contact"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["sync_type"] == "ProfileIngress"
    assert "`sync-now acs ProfileIngress` starts it now" in answer.json()["message"]
    assert problem(api.post(f"{acs}/replay", json={"table": "Bad Name"}), 422)
    missing = problem(api.post(f"{acs}/replay", json={"table": "new_loyaltycard"}), 404)
    assert "is not mapped in 'acs'" in missing["detail"]


def test_fields_are_checked_against_campaign_and_unchecked_saves_are_checked_later(
    api: httpx.Client, acs: str, adobe_sandbox: AdobeSandbox
) -> None:
    fields = f"{acs}/tables/contact/fields"
    unknown = api.post(fields, json={"dynamics_field": "jobtitle", "campaign_field": "jobtitle"})
    assert (
        "'jobtitle' is not a field of Campaign's profile resource"
        in problem(unknown, 422)["detail"]
    )
    mismatch = api.post(fields, json={"dynamics_field": "birthdate", "campaign_field": "age"})
    assert (
        "is a DateTime column and profile.age is a number field" in problem(mismatch, 422)["detail"]
    )
    adobe_sandbox.state.faults.fail_route(METADATA, 503)
    away = api.post(fields, json={"dynamics_field": "jobtitle", "campaign_field": "jobTitle"})
    assert problem(away, 503)["detail"].startswith(
        "Adobe Campaign could not be reached to check profile.jobTitle"
    )
    saved = api.post(
        fields,
        params={"unchecked": "true"},
        json={"dynamics_field": "jobtitle", "campaign_field": "jobtitle"},
    )
    assert saved.status_code == 200 and "Not checked against Campaign" in saved.json()["message"]
    adobe_sandbox.state.faults.reset(0)
    checked = api.get(f"{acs}/check")
    assert checked.status_code == 200, checked.text
    (line,) = checked.json()["problems"]
    assert line.startswith("contact.jobtitle: 'jobtitle' is not a field of Campaign's profile")
