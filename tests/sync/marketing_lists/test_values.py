"""Unit tests of `marketing_lists.values`: columns to read, values to send, their hash."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.mappings.model import DataMapping, MappedEntity, MappingDirection, default_mappings
from shared.storage.data_labels_repo import DataLabel, LabelType, label_key
from shared.sync.marketing_lists.values import (
    ValueMapper,
    convert,
    email_field,
    inbound,
    lookup_column,
    outbound,
    platform_values,
    select_columns,
    values_hash,
)

CONTACT, LEAD = MappedEntity.CONTACT, MappedEntity.LEAD

COMPANY = DataMapping(
    label="COMPANY", entity=CONTACT, primary_field="parentcustomerid",
    linked_entity="account", linked_field="name",
)  # fmt: skip
CITY = DataMapping(label="CITY", entity=CONTACT, primary_field="address1_city",
                   direction=MappingDirection.BOTH)  # fmt: skip
SCORE = DataMapping(label="SCORE", entity=CONTACT, primary_field="annualincome",
                    direction=MappingDirection.TO_DYNAMICS)  # fmt: skip
MAPPINGS = [*default_mappings(), COMPANY, CITY, SCORE]


def labels(*items: DataLabel) -> dict[str, DataLabel]:
    return {label_key(label.name): label for label in items}


def test_lookup_column_is_the_web_api_value_property() -> None:
    assert lookup_column("parentcustomerid") == "_parentcustomerid_value"


def test_outbound_and_inbound_follow_the_direction_and_entity() -> None:
    out = outbound(MAPPINGS, CONTACT)
    assert COMPANY in out and CITY in out and SCORE not in out
    assert all(m.entity is CONTACT for m in out)
    assert any(m.label == "EMAIL" for m in out)  # tells which column is the address
    into = inbound(MAPPINGS, CONTACT)
    assert into == [CITY, SCORE]  # never the email, never ToPlatform-only mappings
    email = DataMapping(label="Email", entity=CONTACT, primary_field="emailaddress1",
                        direction=MappingDirection.BOTH)  # fmt: skip
    assert inbound([email], CONTACT) == []  # whatever the label's case


def test_email_field_comes_from_the_email_mapping_else_emailaddress1() -> None:
    other = DataMapping(label="email", entity=LEAD, primary_field="emailaddress2")
    assert email_field([other], LEAD) == "emailaddress2"
    assert email_field([], MappedEntity.ACCOUNT) == "emailaddress1"


def test_select_columns_has_the_id_state_email_and_each_mapped_column_once() -> None:
    columns = select_columns([*MAPPINGS, CITY], CONTACT)
    assert columns[:2] == ["contactid", "statecode"]
    assert "_parentcustomerid_value" in columns and "parentcustomerid" not in columns
    assert "emailaddress1" in columns and "address1_city" in columns
    assert len(columns) == len(set(columns))
    assert select_columns([], MappedEntity.ACCOUNT) == ["accountid", "statecode", "emailaddress1"]


@pytest.mark.parametrize(
    ("value", "label_type", "expected"),
    [
        (None, LabelType.STRING, None),
        ("", LabelType.NUMERIC, None),
        ("Ada", LabelType.STRING, "Ada"),
        (42, LabelType.STRING, "42"),
        (3, LabelType.NUMERIC, 3),
        (2.5, LabelType.NUMERIC, 2.5),
        ("7", LabelType.NUMERIC, 7.0),
        (True, LabelType.BOOLEAN, True),
        (0, LabelType.BOOLEAN, False),
        ("false", LabelType.BOOLEAN, False),
        ("True", LabelType.BOOLEAN, True),
        (date(2026, 1, 2), LabelType.DATE, "2026-01-02"),
        (datetime(2026, 1, 2, 3, 4, tzinfo=UTC), LabelType.DATE, "2026-01-02T03:04:00+00:00"),
        ("2026-01-02T00:00:00Z", LabelType.DATE, "2026-01-02T00:00:00Z"),
    ],
)
def test_convert(value: object, label_type: LabelType, expected: object) -> None:
    assert convert(value, label_type) == expected


def test_platform_values_with_linked_fields_and_label_defaults() -> None:
    account_id = "7f0c8a52-3a53-4bd6-9a59-0f3c1c0b6a11"
    record = {
        "contactid": "c1", "firstname": "Ada", "lastname": None, "fullname": "Ada",
        "emailaddress1": "ada@example.com", "address1_city": "",
        "_parentcustomerid_value": account_id,
    }  # fmt: skip
    known = labels(
        DataLabel(name="LastName", default_value="Friend"),
        DataLabel(name="CITY", default_value="Leeds"),
        DataLabel(name="COMPANY", default_value="Independent"),
    )
    linked = {("account", account_id): {"name": "Contoso Coffee"}}

    values = platform_values(record, outbound(MAPPINGS, CONTACT), known, linked=linked)

    assert values == {
        "FIRSTNAME": "Ada",
        "FULLNAME": "Ada",
        "LastName": "Friend",  # the label's spelling, and its default for an empty value
        "COMPANY": "Contoso Coffee",
        "CITY": "Leeds",
    }
    assert "EMAIL" not in values


def test_platform_values_linked_record_missing_or_no_lookup_gives_the_default() -> None:
    known = labels(DataLabel(name="COMPANY", default_value="Independent"))
    orphan = {"_parentcustomerid_value": "2b4f1d7e-0000-4000-8000-000000000001"}
    assert platform_values(orphan, [COMPANY], known, linked={}) == {"COMPANY": "Independent"}
    assert platform_values({}, [COMPANY], known) == {"COMPANY": "Independent"}
    assert platform_values({}, [COMPANY], {}) == {"COMPANY": None}  # no label, no default


def test_platform_values_types_follow_the_label() -> None:
    mappings = [
        DataMapping(label="INCOME", entity=CONTACT, primary_field="annualincome"),
        DataMapping(label="NOBULK", entity=CONTACT, primary_field="donotbulkemail"),
    ]
    known = labels(
        DataLabel(name="INCOME", type=LabelType.NUMERIC, default_value="0"),
        DataLabel(name="NOBULK", type=LabelType.BOOLEAN, default_value="false"),
    )
    assert platform_values({"annualincome": 1200.5, "donotbulkemail": True}, mappings, known) == {
        "INCOME": 1200.5, "NOBULK": True,
    }  # fmt: skip
    assert platform_values({}, mappings, known) == {"INCOME": 0.0, "NOBULK": False}


def test_values_hash_ignores_email_case_and_key_order_and_sees_every_value() -> None:
    values = {"FIRSTNAME": "Ada", "COMPANY": "Contoso"}
    digest = values_hash("Ada@Example.com", values)
    assert len(digest) == 32 and int(digest, 16) >= 0
    assert values_hash("ada@example.com", dict(reversed(values.items()))) == digest
    assert values_hash("ada@example.com", {**values, "COMPANY": "Fabrikam"}) != digest
    assert values_hash("ada@example.com", {**values, "COMPANY": None}) != digest
    assert values_hash("grace@example.com", values) != digest


def test_a_default_its_label_type_cannot_take_fails_only_the_records_that_need_it() -> None:
    score = DataLabel(name="SCORE", type=LabelType.NUMERIC, default_value="many")
    mapper = ValueMapper([SCORE], labels(score))  # resolving the mappings raises nothing

    assert mapper({"annualincome": 12}) == {"SCORE": 12}
    for _ in range(2):  # every record without a value fails the same way
        with pytest.raises(ValueError, match="many"):
            mapper({"annualincome": None})
