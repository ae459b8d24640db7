"""`adobe mappings add-table|add-field` check the Campaign side before saving (the ACS sandbox
over HTTP): a field its resource lacks, an extension not yet published, a custom resource not
listed, a type that cannot fit; Campaign out of reach refuses unless `--unchecked`, and `adobe
mappings check` finds later what an unchecked save let through."""

from __future__ import annotations

import json

import pytest

from sandbox.adobe import METADATA
from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.adobe_config_repo import AdobeConfigRepository
from tests.cli.test_cli import BAD_INPUT, error_line, invoke
from tests.fixtures.adobe_accounts import save_adobe_account, save_sandbox_adobe_account
from tests.fixtures.sandboxes import AdobeSandbox

RETRIABLE, FATAL = 75, 1


@pytest.fixture
def acs(
    sync_runtime: Runtime, adobe_sandbox: AdobeSandbox, monkeypatch: pytest.MonkeyPatch
) -> EmailAccount:
    return save_sandbox_adobe_account(sync_runtime, adobe_sandbox, monkeypatch, "acs")


def _fields(rt: Runtime, table: str = "contact") -> list[str]:
    stored = rt.repository(AdobeConfigRepository).load("acs")
    mapping = stored.config.table(table) if stored is not None else None
    return [f.campaign_field for f in mapping.fields] if mapping is not None else []


def test_a_field_the_profile_lacks_is_refused_when_saved_not_when_ingress_writes(
    sync_runtime: Runtime, acs: EmailAccount
) -> None:
    code, out = invoke("adobe", "mappings", "add-field", "acs", "contact", "jobtitle", "jobtitle")
    assert code == BAD_INPUT
    line = error_line(out)
    assert line.startswith(
        "Error: 'jobtitle' is not a field of Campaign's profile resource; its fields are: age, "
    )
    assert "jobTitle" in line and "technical names, case-sensitive" in line
    assert "Create the Profiles & Services Ext API" in line
    assert "jobtitle" not in _fields(sync_runtime)
    code, out = invoke("adobe", "mappings", "add-field", "acs", "contact", "jobtitle", "jobTitle")
    assert code == 0, out


def test_an_extension_field_not_yet_published_is_refused_until_it_is(
    sync_runtime: Runtime, acs: EmailAccount, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.extend_resource("profile", {"position": ""}, published=False)
    add = ("adobe", "mappings", "add-field", "acs", "contact", "jobtitle", "position")
    code, out = invoke(*add)
    assert code == BAD_INPUT and "reaches the API once the extension is published" in out
    adobe_sandbox.state.publish()
    code, out = invoke(*add)
    assert code == 0, out
    assert "position" in _fields(sync_runtime)


def test_a_custom_resource_campaign_does_not_list_is_refused_with_the_publish_step(
    sync_runtime: Runtime, acs: EmailAccount, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.add_custom_resource("cusVisit", {"crmId": ""}, published=False)
    add = ("adobe", "mappings", "add-table", "acs", "new_loyaltycard", "cusVisit", "--key", "crmId")
    code, out = invoke(*add)
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: Adobe Campaign does not list the custom resource 'cusVisit' (resources listed: "
        "cusLoyaltyCard): custom resources sync once they are published and linked to the "
        "profile; create it or publish it in Campaign (Administration > Development > "
        'Publication: Prepare Publication with "Create the Profiles & Services Ext API" '
        "checked, then Publish), then add the mapping again."
    )
    adobe_sandbox.state.publish()
    code, out = invoke(*add)
    assert code == 0, out
    code, out = invoke("adobe", "mappings", "add-field", "acs", "new_loyaltycard", "new_tier",
                       "level")  # fmt: skip
    assert code == BAD_INPUT and "not a field of Campaign's cusVisit resource" in out
    # The key must be a field too.
    code, out = invoke("adobe", "mappings", "remove-table", "acs", "new_loyaltycard")
    assert code == 0, out
    code, out = invoke("adobe", "mappings", "add-table", "acs", "new_loyaltycard",
                       "cusLoyaltyCard", "--key", "crmID")  # fmt: skip
    assert code == BAD_INPUT and "'crmID' is not a field of Campaign's cusLoyaltyCard" in out


def test_a_column_whose_type_cannot_fit_the_field_is_refused(acs: EmailAccount) -> None:
    add = ("adobe", "mappings", "add-field", "acs", "contact")
    code, out = invoke(*add, "birthdate", "blackListEmail")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: 'birthdate' is a DateTime column and profile.blackListEmail is a boolean field: "
        "map a Boolean column (or a choice, with replacements to true/false) to it, or map "
        "'birthdate' to a Campaign text field (values of other types are sent as strings)."
    )
    code, out = invoke(*add, "donotemail", "birthDate")
    assert code == BAD_INPUT and "profile.birthDate is a date field" in out
    for column, field in (("birthdate", "birthDate"), ("donotemail", "blackListEmail"),
                          ("birthdate", "jobTitle"), ("gendercode", "gender")):  # fmt: skip
        code, out = invoke(*add, column, field)
        assert code == 0, out


def test_campaign_out_of_reach_refuses_unless_unchecked_and_check_finds_it_later(
    sync_runtime: Runtime, acs: EmailAccount, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.faults.fail_route(METADATA, 503)
    add = ("adobe", "mappings", "add-field", "acs", "contact")
    code, out = invoke(*add, "telephone1", "phone")
    assert code == RETRIABLE
    line = error_line(out)
    assert line.startswith("Error: Adobe Campaign could not be reached to check profile.phone: ")
    assert line.endswith(
        "; try again, or save it with --unchecked (API: ?unchecked=true) and run `adobe "
        "mappings check acs` once Campaign answers."
    )
    assert "phone" not in _fields(sync_runtime)
    code, out = invoke(*add, "telephone1", "phone", "--unchecked")
    assert code == 0 and "Not checked against Campaign" in out, out
    code, out = invoke(*add, "mobilephone", "mobile", "--unchecked")  # Campaign's is mobilePhone
    assert code == 0, out

    adobe_sandbox.state.faults.reset(0)
    code, out = invoke("adobe", "mappings", "check", "acs")
    assert code == BAD_INPUT
    lines = out.strip().splitlines()
    assert lines[0].startswith("contact.mobilephone: 'mobile' is not a field of Campaign's")
    assert lines[-1] == "1 of 6 field(s) would fail."
    code, out = invoke("adobe", "mappings", "check", "acs", "--output", "json")
    assert code == BAD_INPUT and len(json.loads(out)["problems"]) == 1
    invoke("adobe", "mappings", "remove-field", "acs", "contact", "mobile")
    code, out = invoke("adobe", "mappings", "check", "acs")
    assert code == 0 and out.strip() == "All 5 mapped field(s) exist in Campaign and fit.", out


def test_a_credential_campaign_cannot_use_refuses_naming_the_connection_test(
    sync_runtime: Runtime,
) -> None:
    save_adobe_account(sync_runtime, "placeholder")
    code, out = invoke("adobe", "mappings", "add-field", "placeholder", "contact", "telephone1",
                       "phone")  # fmt: skip
    assert code == FATAL
    line = error_line(out)
    assert line.startswith("Error: Adobe Campaign could not check profile.phone: The secret ")
    assert "fix the account's connection (`accounts test placeholder`), or save it with" in line
