from __future__ import annotations

import pytest

from shared.mappings.model import (
    DataMapping,
    DuplicateMapping,
    MappedEntity,
    MappingDirection,
    default_mappings,
)
from shared.pipeline.mapping_validation import MappingError, validate_mapping
from shared.storage.crm_fields_repo import CrmField
from shared.storage.data_labels_repo import DataLabel, LabelType

FIELDS = [
    CrmField(entity="contact", logical_name="firstname", display_name="First Name",
             attribute_type="String"),
    CrmField(entity="contact", logical_name="birthdate", display_name="Birthday",
             attribute_type="DateTime"),
    CrmField(entity="contact", logical_name="parentcustomerid", display_name="Company Name",
             attribute_type="Customer", targets=("account", "contact")),
    CrmField(entity="contact", logical_name="ownerid", display_name="Owner",
             attribute_type="Owner", targets=("systemuser", "team")),
    CrmField(entity="account", logical_name="name", display_name="Account Name",
             attribute_type="String"),
    CrmField(entity="account", logical_name="creditlimit", display_name="Credit Limit",
             attribute_type="Money"),
]  # fmt: skip
LABELS = [
    DataLabel(name="FIRSTNAME"),
    DataLabel(name="BIRTHDAY", type=LabelType.DATE),
    DataLabel(name="COMPANY"),
    DataLabel(name="CREDIT", type=LabelType.NUMERIC),
]


def check(mapping: DataMapping, existing: list[DataMapping] | None = None) -> None:
    validate_mapping(
        mapping, account_id="acme", labels=LABELS, crm_fields=FIELDS, existing=existing or []
    )


def m(label: str, field: str, **extra: object) -> DataMapping:
    return DataMapping(label=label, entity=MappedEntity.CONTACT, primary_field=field, **extra)  # type: ignore[arg-type]


def test_valid_mappings_pass() -> None:
    check(m("FIRSTNAME", "firstname", direction=MappingDirection.BOTH))
    check(m("BIRTHDAY", "birthdate"))
    check(m("COMPANY", "parentcustomerid", linked_entity="account", linked_field="name"))
    check(m("EMAIL", "firstname"))  # the identifier needs no label


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (m("NOPE", "firstname"), "There is no data label 'NOPE'"),
        (m("FIRSTNAME", "nickname"), "contact has no mappable field 'nickname'"),
        (m("BIRTHDAY", "firstname"), "cannot hold the Date label 'BIRTHDAY'"),
        (m("COMPANY", "firstname", linked_entity="account", linked_field="name"),
         "The linked CRM field is locked"),
        (m("COMPANY", "ownerid", linked_entity="account", linked_field="name"),
         "looks up systemuser, team, not account"),
        (m("COMPANY", "parentcustomerid", linked_entity="account", linked_field="name",
           direction=MappingDirection.BOTH), "only be mapped To Dotdigital"),
        (m("COMPANY", "parentcustomerid", direction=MappingDirection.TO_DYNAMICS),
         "cannot be written from Dotdigital"),
        (m("CREDIT", "parentcustomerid", linked_entity="account", linked_field="missing"),
         "account has no mappable field 'missing'"),
    ],
)  # fmt: skip
def test_invalid_mappings_say_what_is_wrong(mapping: DataMapping, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        check(mapping)


def test_existing_mapping_is_refused_whatever_the_label_case() -> None:
    with pytest.raises(DuplicateMapping, match="already exists"):
        check(m("firstname", "firstname"), existing=[m("FIRSTNAME", "firstname")])


def test_no_metadata_yet_asks_for_a_crm_metadata_sync() -> None:
    with pytest.raises(MappingError, match=r"run `sync-now acme CrmMetadata` first"):
        validate_mapping(
            m("FIRSTNAME", "firstname"),
            account_id="acme",
            labels=LABELS,
            crm_fields=[],
            existing=[],
        )


def test_linked_field_needs_both_parts() -> None:
    with pytest.raises(MappingError, match="both the linked entity and its field"):
        m("COMPANY", "parentcustomerid", linked_field="name")


def test_default_mappings_are_email_and_names_for_contacts_and_leads() -> None:
    defaults = {(d.entity.value, d.label, d.primary_field) for d in default_mappings()}
    assert defaults == {
        (entity, label, field)
        for entity in ("contact", "lead")
        for label, field in (("EMAIL", "emailaddress1"), ("FIRSTNAME", "firstname"),
                             ("FULLNAME", "fullname"), ("LASTNAME", "lastname"))
    }  # fmt: skip


TYPED_FIELDS = [
    CrmField(entity="contact", logical_name=f"col_{attribute_type.lower()}",
             display_name=attribute_type, attribute_type=attribute_type)
    for attribute_type in ("String", "Memo", "Integer", "Money", "Picklist", "DateTime",
                           "Boolean", "Lookup", "Uniqueidentifier")
]  # fmt: skip
TYPED_LABELS = [DataLabel(name=label_type.name, type=label_type) for label_type in LabelType]


def accepted(label_type: LabelType, attribute_type: str, direction: MappingDirection) -> bool:
    mapping = m(label_type.name, f"col_{attribute_type.lower()}", direction=direction)
    try:
        validate_mapping(
            mapping, account_id="acme", labels=TYPED_LABELS, crm_fields=TYPED_FIELDS, existing=[]
        )
    except MappingError:
        return False
    return True


@pytest.mark.parametrize(
    ("label_type", "to_platform", "to_dynamics"),
    [
        # Text goes to Dotdigital from most columns, back only into plain ones.
        (LabelType.STRING, {"String", "Memo", "Integer", "Money", "Picklist", "Lookup",
                            "Uniqueidentifier"}, {"String", "Memo", "Integer", "Money"}),
        (LabelType.NUMERIC, {"Integer", "Money"}, {"Integer", "Money"}),
        (LabelType.DATE, {"DateTime"}, {"DateTime"}),
        (LabelType.BOOLEAN, {"Boolean"}, {"Boolean"}),
    ],
)  # fmt: skip
def test_which_column_types_each_label_type_maps_to(
    label_type: LabelType, to_platform: set[str], to_dynamics: set[str]
) -> None:
    types = {field.attribute_type for field in TYPED_FIELDS}
    assert {t for t in types if accepted(label_type, t, MappingDirection.TO_PLATFORM)} == (
        to_platform
    )
    for direction in (MappingDirection.TO_DYNAMICS, MappingDirection.BOTH):
        assert {t for t in types if accepted(label_type, t, direction)} == to_dynamics


def test_an_option_set_column_cannot_be_written_from_dotdigital() -> None:
    advice = r"\(Picklist\) cannot be written from Dotdigital: map it ToPlatform only"
    with pytest.raises(MappingError, match=advice):
        validate_mapping(
            m("STRING", "col_picklist", direction=MappingDirection.TO_DYNAMICS),
            account_id="acme", labels=TYPED_LABELS, crm_fields=TYPED_FIELDS, existing=[],
        )  # fmt: skip


def test_the_same_label_may_be_mapped_once_per_entity() -> None:
    lead_mapping = DataMapping(
        label="FIRSTNAME", entity=MappedEntity.LEAD, primary_field="firstname"
    )
    check(m("FIRSTNAME", "firstname"), existing=[lead_mapping])


def test_a_linked_field_of_a_lookup_with_unknown_targets_is_accepted() -> None:
    fields = [
        *FIELDS,
        CrmField(entity="contact", logical_name="originatingleadid", display_name="Lead",
                 attribute_type="Lookup"),
    ]  # fmt: skip
    mapping = m("CREDIT", "originatingleadid", linked_entity="account", linked_field="creditlimit")
    validate_mapping(mapping, account_id="acme", labels=LABELS, crm_fields=fields, existing=[])


def test_the_email_mapping_needs_a_text_column() -> None:
    with pytest.raises(MappingError, match="cannot hold the String label 'EMAIL'"):
        check(m("EMAIL", "birthdate"))
