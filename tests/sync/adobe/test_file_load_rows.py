"""A Dynamics record as a row of the import file: the mapping's rules (replacements, choices
as labels or values, filters) and dates in the file's `YYYY/MM/DD HH:mm:SS`."""

from __future__ import annotations

from shared.clients.filedrop.parts import PartEncoder
from shared.clients.filedrop.text_format import ImportFormat
from shared.storage.adobe_config_model import (
    Comparison,
    FieldMapping,
    FilterRule,
    RecordFilter,
    Replacement,
    TableMapping,
)
from shared.storage.adobe_file_drop import FileDropSettings, SftpDestination
from shared.sync.adobe.file_load import FileLoadJob, campaign_row
from shared.sync.adobe.linked_columns import LinkedPage

LABEL = "@OData.Community.Display.V1.FormattedValue"


def job(**mapping_changes: object) -> FileLoadJob:
    mapping = TableMapping(
        dynamics_table="contact", campaign_resource="profile", campaign_key="externalId",
        fields=[
            FieldMapping(dynamics_field="contactid", campaign_field="externalId"),
            FieldMapping(dynamics_field="birthdate", campaign_field="birthDate"),
            FieldMapping(dynamics_field="gendercode", campaign_field="gender"),
            FieldMapping(dynamics_field="donotbulkemail", campaign_field="blackListEmail"),
            FieldMapping(dynamics_field="address1_country", campaign_field="country"),
        ],
        replacements=[
            Replacement(dynamics_field="address1_country", value="FR", new_value="France")
        ],
    ).model_copy(update=mapping_changes)  # fmt: skip
    settings = FileDropSettings(
        destination=SftpDestination(host="h.example.com", username="u",
                                    host_key="ssh-ed25519 AAAA", password_setting="P"),
        workflow_id="WKF1",
    )  # fmt: skip
    return FileLoadJob(
        account_id="a", mapping=mapping, settings=settings, entity_set="contacts",
        primary_key="contactid", date_columns=frozenset({"birthdate"}),
        choice_columns=frozenset({"gendercode"}),
    )  # fmt: skip


RECORD = {
    "contactid": "c-1", "birthdate": "1990-05-17T22:30:00Z", "gendercode": 2,
    f"gendercode{LABEL}": "Female", "donotbulkemail": True, "address1_country": "FR",
}  # fmt: skip


def line(job: FileLoadJob, record: dict[str, object]) -> str:
    row = campaign_row(job, record)
    assert row is not None
    encoder = PartEncoder(job.columns, key=job.key_column, format=ImportFormat(), header=False)
    encoder.add(row)
    return encoder.finish().data.decode()


def test_a_record_becomes_a_line_with_the_mapping_rules_and_the_file_date_format() -> None:
    assert line(job(), RECORD) == "c-1\t1990/05/17 22:30:00\tFemale\t1\tFrance\n"
    technical = job(technical_picklist_values=True)
    assert line(technical, RECORD) == "c-1\t1990/05/17 22:30:00\t2\t1\tFrance\n"
    assert line(job(), {"contactid": "c-2"}) == "c-2\t\t\t\t\n"


def test_a_record_the_filter_leaves_out_is_not_in_the_file() -> None:
    only_germany = RecordFilter(
        rules=[FilterRule(dynamics_field="address1_country", comparison=Comparison.EQUALS,
                          value="DE")],
        delete_filtered_out=True,  # an initial load has nothing in Campaign to delete
    )  # fmt: skip
    assert campaign_row(job(filter=only_germany), RECORD) is None
    assert campaign_row(job(filter=only_germany), {**RECORD, "address1_country": "DE"})


def test_a_field_through_lookups_takes_the_value_its_page_read_for_the_record() -> None:
    linked = FieldMapping(dynamics_field="parentcustomerid.name", campaign_field="company")
    replaced = Replacement(dynamics_field="parentcustomerid.name", value="Acme", new_value="ACME")
    with_link = job(fields=[*job().mapping.fields, linked], replacements=[replaced])
    page = LinkedPage(values={"c-1": {"parentcustomerid.name": "Acme"}})

    row, other = campaign_row(with_link, RECORD, page), campaign_row(with_link, RECORD)
    assert with_link.columns[-1] == "company"
    assert row is not None and row["company"] == "ACME"  # replaced as a direct column is
    assert other is not None and "company" not in other  # nothing read: nothing written
