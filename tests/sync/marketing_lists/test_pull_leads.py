"""Unit tests of `marketing_lists.pull_leads`: the id and the create body of a lead made from an
address book member."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.mappings.model import DataMapping, MappedEntity, MappingDirection, default_mappings
from shared.storage.crm_fields_repo import CrmField
from shared.storage.data_labels_repo import DataLabel, LabelType
from shared.sync.marketing_lists.pull_leads import TOPIC_LENGTH, lead_id_for, lead_template

LEAD, CONTACT = MappedEntity.LEAD, MappedEntity.CONTACT
BOTH, TO_DYNAMICS = MappingDirection.BOTH, MappingDirection.TO_DYNAMICS

_local = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=20)
emails = st.builds(lambda user, domain: f"{user}@{domain}.example", _local, _local)


def test_a_lead_id_is_a_fixed_uuid_of_the_email() -> None:
    lead_id = lead_id_for("ada@example.com")
    assert uuid.UUID(lead_id).version == 5 and str(uuid.UUID(lead_id)) == lead_id
    assert lead_id_for("ada@example.com") == lead_id  # a resent create hits the same record


@given(email=emails, spaces=st.sampled_from(["", " ", "\t", "  \n"]))
def test_a_lead_id_ignores_the_email_case_and_surrounding_spaces(email: str, spaces: str) -> None:
    assert lead_id_for(spaces + email.upper() + spaces) == lead_id_for(email.lower())


@given(first=emails, second=emails)
def test_different_emails_give_different_lead_ids(first: str, second: str) -> None:
    if first.lower() != second.lower():
        assert lead_id_for(first) != lead_id_for(second)


def field(name: str, attribute_type: str, entity: str = "lead") -> CrmField:
    return CrmField(entity=entity, logical_name=name, display_name=name,
                    attribute_type=attribute_type)  # fmt: skip


def lead(label: str, column: str, direction: MappingDirection = TO_DYNAMICS,
         **linked: str) -> DataMapping:  # fmt: skip
    return DataMapping(label=label, entity=LEAD, primary_field=column, direction=direction,
                       **linked)  # type: ignore[arg-type]  # fmt: skip


FIELDS = [
    field("emailaddress1", "String"), field("firstname", "String"), field("lastname", "String"),
    field("fullname", "String"), field("subject", "String"), field("jobtitle", "String"),
    field("numberofemployees", "Integer"), field("revenue", "Money"),
    field("donotbulkemail", "Boolean"), field("estimatedclosedate", "DateTime"),
    field("parentaccountid", "Lookup"), field("leadqualitycode", "Picklist"),
    field("jobtitle", "Memo", entity="contact"),  # another table's column of the same name
]  # fmt: skip
NUMERIC, BOOLEAN, DATE = LabelType.NUMERIC, LabelType.BOOLEAN, LabelType.DATE
LABELS = [
    DataLabel(name="FIRSTNAME"), DataLabel(name="LASTNAME"), DataLabel(name="Role"),
    DataLabel(name="STAFF", type=NUMERIC), DataLabel(name="SALES", type=NUMERIC),
    DataLabel(name="NOBULK", type=BOOLEAN), DataLabel(name="CLOSE", type=DATE),
    DataLabel(name="SCORE", type=NUMERIC),
]  # fmt: skip


def body(mappings: list[DataMapping], data: dict[str, Any], *, book: str = "Webinar",
         email: str = "Ada@Example.com") -> dict[str, Any]:  # fmt: skip
    return lead_template(book, mappings, LABELS, FIELDS).values(email, data)


def test_a_new_lead_holds_the_email_the_names_and_a_topic_naming_the_book() -> None:
    # The default name mappings are ToPlatform: a new lead takes the names all the same.
    created = body(default_mappings(), {"FIRSTNAME": "Ada", "LASTNAME": "Lovelace",
                                        "FULLNAME": "Ada Lovelace"})  # fmt: skip
    assert created == {
        "emailaddress1": "Ada@Example.com",  # as the member spelled it
        "firstname": "Ada",
        "lastname": "Lovelace",
        "subject": "Dotdigital address book: Webinar",
    }  # fullname is computed by Dynamics


def test_the_email_goes_to_the_column_the_email_mapping_names() -> None:
    mappings = [lead("EMAIL", "emailaddress2"), lead("Role", "emailaddress2")]
    assert body(mappings, {"ROLE": "x"}) == {
        "emailaddress2": "Ada@Example.com",  # never overwritten by another mapping
        "subject": "Dotdigital address book: Webinar",
    }


def test_inbound_mappings_fill_their_columns_in_the_column_type() -> None:
    mappings = [
        lead("Role", "jobtitle", BOTH),
        lead("STAFF", "numberofemployees"),
        lead("SALES", "revenue"),
        lead("NOBULK", "donotbulkemail"),
        lead("CLOSE", "estimatedclosedate"),
        lead("SCORE", "leadqualitycode"),
    ]
    data = {"role": "CTO", "STAFF": "12.0", "SALES": 2.5, "NOBULK": "Yes",
            "CLOSE": "2026-03-01T00:00:00", "SCORE": 2}  # fmt: skip
    created = body(mappings, data)
    assert created == {
        "emailaddress1": "Ada@Example.com",
        "jobtitle": "CTO",  # data fields are found whatever their name's case
        "numberofemployees": 12,
        "revenue": 2.5,
        "donotbulkemail": True,
        "estimatedclosedate": "2026-03-01T00:00:00",
        "leadqualitycode": 2,
        "subject": "Dotdigital address book: Webinar",
    }
    assert type(created["numberofemployees"]) is int and type(created["revenue"]) is float


@pytest.mark.parametrize(
    ("label", "column", "value"),
    [
        ("STAFF", "numberofemployees", "a dozen"),
        ("STAFF", "numberofemployees", 12.5),  # a whole-number column: not 12
        ("STAFF", "numberofemployees", "12.5"),
        ("SALES", "revenue", "lots"),
        ("NOBULK", "donotbulkemail", "maybe"),
        ("SCORE", "leadqualitycode", 1.5),
    ],
)
def test_a_value_that_does_not_fit_its_column_is_left_out_not_the_lead(
    label: str, column: str, value: Any
) -> None:
    created = body([lead(label, column)], {label: value})
    assert column not in created
    assert created["emailaddress1"] == "Ada@Example.com"


def test_empty_values_are_left_out() -> None:
    created = body([lead("Role", "jobtitle"), lead("STAFF", "numberofemployees")],
                   {"ROLE": "", "STAFF": None})  # fmt: skip
    assert set(created) == {"emailaddress1", "subject"}


def test_columns_a_create_cannot_set_are_left_out() -> None:
    mappings = [
        lead("FULLNAME", "fullname"),  # computed
        lead("Role", "parentaccountid"),  # a lookup needs a bind
        lead("SALES", "statecode"),  # the service's
        lead("Role", "parentaccountid", BOTH, linked_entity="account", linked_field="name"),
        lead("SALES", "revenue", MappingDirection.TO_PLATFORM),  # Dynamics -> platform only
        DataMapping(label="Role", entity=CONTACT, primary_field="jobtitle", direction=BOTH),
    ]
    created = body(mappings, {"FULLNAME": "Ada L", "ROLE": "CTO", "SALES": 3})
    assert set(created) == {"emailaddress1", "subject"}


def test_a_mapping_that_writes_the_topic_replaces_the_book_name() -> None:
    mappings = [lead("Role", "subject")]
    assert body(mappings, {"ROLE": "Spring webinar"})["subject"] == "Spring webinar"
    assert "subject" not in body(mappings, {})  # no topic from the book either: it is mapped


def test_the_topic_fits_its_column() -> None:
    topic = body([], {}, book="B" * 400)["subject"]
    assert len(topic) == TOPIC_LENGTH and topic.startswith("Dotdigital address book: BBB")


def test_the_first_mapping_of_a_column_wins() -> None:
    mappings = [lead("Role", "jobtitle"), lead("SALES", "jobtitle")]
    assert body(mappings, {"ROLE": "CTO", "SALES": 3})["jobtitle"] == "CTO"


def test_a_column_of_unknown_type_takes_the_label_type() -> None:
    mappings = [lead("SALES", "budgetamount"), lead("NOBULK", "donotemail"),
                lead("Role", "description")]  # fmt: skip
    created = body(mappings, {"SALES": "7", "NOBULK": "false", "ROLE": 5})
    assert (created["budgetamount"], created["donotemail"], created["description"]) == (
        7.0, False, "5",
    )  # fmt: skip
