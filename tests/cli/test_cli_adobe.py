"""`adobe ...` as an administrator types it (Azurite, the Dataverse sandbox): the configuration
exists for Adobe Campaign accounts only; tables need change tracking; columns must exist;
everything mapped once; the result reads back from Table Storage one row per table."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.adobe_config_repo import AdobeConfigRepository
from tests.cli.test_cli import BAD_INPUT, CONFLICT, NOT_FOUND, error_line, invoke
from tests.fixtures.adobe_accounts import save_adobe_account, save_sandbox_adobe_account
from tests.fixtures.sandboxes import AdobeSandbox


@pytest.fixture
def acs(
    sync_runtime: Runtime, adobe_sandbox: AdobeSandbox, monkeypatch: pytest.MonkeyPatch
) -> EmailAccount:
    return save_sandbox_adobe_account(sync_runtime, adobe_sandbox, monkeypatch, "acs")


def _config() -> dict[str, object]:
    code, out = invoke("adobe", "show", "acs", "--output", "json")
    assert code == 0, out
    config: dict[str, object] = json.loads(out)
    return config


def test_a_dotdigital_account_has_no_adobe_configuration(acme: EmailAccount) -> None:
    code, out = invoke("adobe", "show", "acme")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: 'acme' is a Dotdigital account: the Adobe Campaign configuration exists only "
        "for Adobe Campaign accounts."
    )
    code, out = invoke("adobe", "mappings", "add-table", "acme", "new_loyaltycard",
                       "cusLoyaltyCard", "--key", "crmId")  # fmt: skip
    assert code == BAD_INPUT and "is a Dotdigital account" in error_line(out)


def test_contact_maps_to_profiles_by_default_and_a_custom_table_needs_change_tracking(
    sync_runtime: Runtime, acs: EmailAccount
) -> None:
    code, out = invoke("adobe", "mappings", "list", "acs")
    assert code == 0, out
    assert "contact -> profile (key externalId" in out and "emailaddress1" in out

    code, out = invoke("adobe", "mappings", "add-table", "acs", "new_visitlog", "cusVisit",
                       "--key", "crmId")  # fmt: skip
    assert code == BAD_INPUT
    assert error_line(out).startswith(
        "Error: The Dynamics table 'new_visitlog' does not have change tracking enabled"
    )
    code, out = invoke("adobe", "mappings", "add-table", "acs", "new_nosuch", "cusX", "--key", "k")
    assert code == NOT_FOUND and "Dynamics has no table 'new_nosuch'" in error_line(out)
    code, out = invoke("adobe", "mappings", "add-table", "acs", "new_loyaltycard", "loyalty",
                       "--key", "crmId")  # fmt: skip
    assert code == BAD_INPUT and "start with 'cus'" in error_line(out)
    code, out = invoke("adobe", "mappings", "add-table", "acs", "contact", "profile")
    assert code == CONFLICT and "'contact' is mapped already" in error_line(out)

    code, out = invoke("adobe", "mappings", "add-table", "acs", "new_loyaltycard",
                       "cusLoyaltyCard", "--key", "crmId")  # fmt: skip
    assert code == 0, out
    assert "Mapped 'new_loyaltycard' -> cusLoyaltyCard (key crmId <- new_loyaltycardid)" in out

    # One row per mapped table in Storage Explorer, and the settings row.
    table = sync_runtime.tables.client(AdobeConfigRepository.TABLE)
    rows = {r["RowKey"]: r for r in table.query_entities("PartitionKey eq 'acs'")}
    assert set(rows) == {"settings", "table-contact", "table-new_loyaltycard"}
    assert rows["table-new_loyaltycard"]["CampaignResource"] == "cusLoyaltyCard"

    code, out = invoke("adobe", "mappings", "remove-table", "acs", "new_loyaltycard")
    assert code == 0 and "Removed the mapping" in out, out
    rows = {r["RowKey"] for r in table.query_entities("PartitionKey eq 'acs'")}
    assert rows == {"settings", "table-contact"}


def test_fields_replacements_filters_and_switches(acs: EmailAccount) -> None:
    add = ("adobe", "mappings", "add-field", "acs", "contact")
    code, out = invoke(*add, "jobtitle", "jobTitle", "--no-apply-updates")
    assert code == 0 and "(initial load and replays only)" in out, out
    code, out = invoke(*add, "parentcustomerid.name", "company")
    assert code == 0, out
    code, out = invoke(*add, "nosuchcolumn", "x")
    assert code == BAD_INPUT
    assert (
        error_line(out) == "Error: 'nosuchcolumn' is not a column of the Dynamics table 'contact'."
    )
    code, out = invoke(*add, "firstname.name", "x")
    assert code == BAD_INPUT and "which is not a lookup (String)" in error_line(out)
    code, out = invoke(*add, "middlename", "firstName")
    assert code == CONFLICT
    assert "several Dynamics fields cannot map to one Campaign field" in error_line(out)
    code, out = invoke("adobe", "mappings", "remove-field", "acs", "contact", "externalId")
    assert code == BAD_INPUT and "is the key of the mapping" in error_line(out)
    code, out = invoke("adobe", "mappings", "apply-updates", "acs", "contact", "jobTitle", "on")
    assert code == 0, out

    code, out = invoke("adobe", "replacements", "add", "acs", "contact", "jobtitle", "CEO",
                       "Chief Executive")  # fmt: skip
    assert code == 0, out
    code, out = invoke("adobe", "replacements", "add", "acs", "contact", "gendercode", "2", "F")
    assert code == BAD_INPUT and "'gendercode' is not mapped" in error_line(out)

    code, out = invoke("adobe", "filters", "add", "acs", "contact", "address1_country",
                       "equals", "France")  # fmt: skip
    assert code == 0 and "Filter rule 1 of 'contact'" in out, out
    code, out = invoke("adobe", "filters", "add", "acs", "contact", "emailaddress1", "is-not-empty")
    assert code == 0, out
    code, out = invoke("adobe", "filters", "add", "acs", "contact", "lastname", "greater-than")
    assert code == BAD_INPUT and "'greater-than' needs a value" in error_line(out)
    code, out = invoke("adobe", "filters", "set", "acs", "contact", "--join", "Or",
                       "--delete-filtered-out")  # fmt: skip
    assert code == 0, out
    code, out = invoke("adobe", "filters", "remove", "acs", "contact", "3")
    assert code == NOT_FOUND and "there is no rule 3" in error_line(out)
    code, out = invoke("adobe", "mappings", "options", "acs", "contact", "--apply-deletes",
                       "--technical-values")  # fmt: skip
    assert code == 0 and "apply deletes yes, technical picklist values yes" in out, out

    config = _config()
    contact = config["tables"][0]  # type: ignore[index]
    fields = {f["campaign_field"]: f for f in contact["fields"]}
    assert fields["jobTitle"]["apply_updates"] is True
    assert fields["company"]["dynamics_field"] == "parentcustomerid.name"
    assert contact["replacements"] == [
        {"dynamics_field": "jobtitle", "value": "CEO", "new_value": "Chief Executive"}
    ]
    assert contact["filter"]["join"] == "Or" and contact["filter"]["delete_filtered_out"]
    assert [r["comparison"] for r in contact["filter"]["rules"]] == ["equals", "is-not-empty"]
    assert contact["apply_deletes"] and contact["technical_picklist_values"]

    # Removing a field takes its replacements with it.
    code, out = invoke("adobe", "mappings", "remove-field", "acs", "contact", "jobTitle")
    assert code == 0, out
    assert _config()["tables"][0]["replacements"] == []  # type: ignore[index]


def test_linked_columns_are_checked_and_the_sixth_is_refused(acs: EmailAccount) -> None:
    add = ("adobe", "mappings", "add-field", "acs", "contact")
    code, out = invoke(*add, "parentcustomerid.nosuch", "x")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: 'nosuch' is not a column of the Dynamics table 'account' or 'contact'."
    )
    code, out = invoke(*add, "parentcustomerid.primarycontactid.fullname", "companyContact")
    assert code == 0, out  # depth 2: contact -> account -> contact
    code, out = invoke(*add, "parentcustomerid.name.x", "x")
    assert code == BAD_INPUT and "through 'name', which is not a lookup" in error_line(out)
    for column in ("name", "telephone1", "revenue", "websiteurl"):
        code, out = invoke(*add, f"parentcustomerid.{column}", f"company_{column}")
        assert code == 0, out
    code, out = invoke(*add, "parentcustomerid.emailaddress1", "companyEmail")
    assert code == BAD_INPUT
    assert "would have 6 linked columns; Adobe Campaign allows 5 a resource" in error_line(out)


def test_opt_out_mode_and_pairs_and_egress_switches(acs: EmailAccount) -> None:
    pairs = ("--pair", "denyListEmail=donotbulkemail", "--pair", "ccpaOptOut=donotemail")
    code, out = invoke("adobe", "opt-out", "set", "acs", "--mode", "Bidirectional", *pairs)
    assert code == 0, out
    assert (
        "Opt-out Bidirectional: blackListEmail <-> donotbulkemail, ccpaOptOut <-> donotemail" in out
    )
    code, out = invoke("adobe", "opt-out", "set", "acs", "--pair", "blackListEmail=firstname")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: 'firstname' is a String column of contact: an opt-out maps to a Boolean field "
        "(e.g. donotbulkemail)."
    )
    code, out = invoke("adobe", "opt-out", "set", "acs", "--pair", "unsubscribed=donotemail")
    assert code == BAD_INPUT and "is not a Campaign opt-out attribute" in error_line(out)
    code, out = invoke("adobe", "egress", "set", "acs", "--no-open", "--click-task-due-days", "3",
                       "--no-bounce-task")  # fmt: skip
    assert code == 0, out
    assert out.strip() == (
        "Egress events: Send, Click, Bounce; a task due in 3 day(s) on each click."
    )
    config = _config()
    assert config["opt_out"] == {
        "mode": "Bidirectional",
        "pairs": [
            {"campaign_attribute": "blackListEmail", "dynamics_field": "donotbulkemail"},
            {"campaign_attribute": "ccpaOptOut", "dynamics_field": "donotemail"},
        ],
    }
    assert config["egress"]["open"] is False and config["egress"]["bounce_task"] is False  # type: ignore[index]
    code, out = invoke("adobe", "show", "acs")
    assert code == 0 and "Opt-out: Bidirectional" in out and "Task on each click" in out, out


def test_the_readme_adobe_commands_run_as_written(sync_runtime: Runtime) -> None:
    """The README's `.venv/bin/python -m shared adobe ...` lines, in order, on an Adobe account
    (the README test runs them too, after the README's own `accounts add emea-acs`)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text().replace("\\\n", " ")
    lines = re.findall(r"^\.venv/bin/python -m shared (adobe .+)$", readme, flags=re.MULTILINE)
    assert len(lines) >= 10
    save_adobe_account(sync_runtime, "emea-acs", "EMEA Campaign")
    listed = ""
    for line in lines:
        code, out = invoke(*shlex.split(line))
        assert code == 0, f"{line}\n{out}"
        if "--output json" in line:
            listed = out
    tables = json.loads(listed)
    assert [t["campaign_resource"] for t in tables] == ["profile", "cusLoyaltyCard"]
    stored = sync_runtime.repository(AdobeConfigRepository).load("emea-acs")
    assert stored is not None  # the README's egress section sets where events are read
    assert stored.config.egress.journal_url.startswith("https://events.adobe.io/events/")
    assert stored.config.egress.ims_org_id.endswith("@AdobeOrg")
