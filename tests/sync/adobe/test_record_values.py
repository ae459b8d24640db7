"""A Dynamics record as Campaign receives it: mapped fields only, choices as value or label,
replacements after, "apply updates" off honoured by incremental updates only."""

from __future__ import annotations

import pytest

from shared.storage.adobe_config_model import (
    FieldMapping,
    Replacement,
    TableMapping,
    default_profile_mapping,
)
from shared.sync.adobe.record_values import Write, campaign_record

CONTACT = "0f8fad5b-d9cb-469f-a165-70867728950e"
VALUES: dict[str, object] = {
    "contactid": CONTACT,
    "emailaddress1": "ada@example.com",
    "firstname": "Ada",
    "lastname": "Lovelace",
    "gendercode": 2,
    "preferredcontactmethodcode": 2,
    "jobtitle": "Countess",
    "parentcustomerid.name": "Analytical Engines Ltd",
    "telephone1": "+44 20 7946 0000",
}
LABELS = {"gendercode": "Female", "preferredcontactmethodcode": "Email"}
CHOICES = {"gendercode", "preferredcontactmethodcode"}


def _mapping(technical: bool = False) -> TableMapping:
    table = default_profile_mapping()
    table.fields += [
        FieldMapping(dynamics_field="gendercode", campaign_field="gender"),
        FieldMapping(dynamics_field="preferredcontactmethodcode", campaign_field="channel"),
        FieldMapping(dynamics_field="jobtitle", campaign_field="title", apply_updates=False),
        FieldMapping(dynamics_field="parentcustomerid.name", campaign_field="company"),
        FieldMapping(dynamics_field="middlename", campaign_field="middleName"),
    ]
    table.replacements = [
        Replacement(dynamics_field="gendercode", value="Female", new_value="F"),
        Replacement(dynamics_field="preferredcontactmethodcode", value="2", new_value="mail"),
    ]
    table.technical_picklist_values = technical
    return table


def test_a_loaded_record_has_every_mapped_field_labels_and_replacements() -> None:
    record = campaign_record(_mapping(), VALUES, LABELS, CHOICES, Write.LOAD)
    assert record == {
        "externalId": CONTACT,
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "gender": "F",  # label Female, replaced
        "channel": "mail",  # replaced by its value 2 whichever is sent
        "title": "Countess",
        "company": "Analytical Engines Ltd",
    }  # telephone1 is not mapped; middlename was not read: neither is sent


def test_technical_values_send_the_choice_value() -> None:
    record = campaign_record(_mapping(technical=True), VALUES, LABELS, CHOICES, Write.LOAD)
    assert record["gender"] == "F"  # the rule names the label: it still matches
    table = _mapping(technical=True)
    table.replacements = []
    assert campaign_record(table, VALUES, LABELS, CHOICES, Write.LOAD)["gender"] == 2


@pytest.mark.parametrize(("write", "has_title"), [(Write.LOAD, True), (Write.CREATE, True),
                                                  (Write.UPDATE, False)])  # fmt: skip
def test_apply_updates_off_leaves_the_field_out_of_updates_only(
    write: Write, has_title: bool
) -> None:
    record = campaign_record(_mapping(), VALUES, LABELS, CHOICES, write)
    assert ("title" in record) is has_title
    assert record["externalId"] == CONTACT


def test_an_empty_choice_is_left_out_rather_than_sent_as_null() -> None:
    # Campaign's enumerations (a profile's gender) refuse null: the record would fail whole.
    values = {**VALUES, "gendercode": None, "jobtitle": None}
    record = campaign_record(_mapping(), values, {}, CHOICES, Write.LOAD)
    assert "gender" not in record
    assert record["title"] is None  # an empty text column still clears the field
