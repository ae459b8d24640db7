"""Unit tests of `marketing_lists.data_in_scope`: which linked lists MarketingListsDataIn syncs,
and which mapped fields it writes back to their members."""

from __future__ import annotations

import pytest

from shared.audit import Messages
from shared.clients.dataverse.lists import MarketingList, MemberType
from shared.mappings.model import DataMapping, MappedEntity, MappingDirection, default_mappings
from shared.storage.data_labels_repo import DataLabel, LabelType, label_key
from shared.sync.marketing_lists.data_in_scope import Skip, inbound_fields, list_problem

CONTACT, LEAD = MappedEntity.CONTACT, MappedEntity.LEAD
BOTH, TO_DYNAMICS = MappingDirection.BOTH, MappingDirection.TO_DYNAMICS


def marketing_list(**changes: object) -> MarketingList:
    fields: dict[str, object] = {
        "list_id": "5d1c7a0e-0b7f-4b47-9a51-3f0d1c2e4a10",
        "name": "Spring news",
        "dynamic": False,
        "member_type": MemberType.CONTACT,
        "email_account_id": "acme",
        "email_activated": True,
    }
    return MarketingList.model_validate(fields | changes)


def test_a_linked_active_email_activated_list_of_the_account_is_synced() -> None:
    assert list_problem(marketing_list(), "acme") is None
    # Account ids are compared as Dynamics stores them: case and padding do not matter.
    assert list_problem(marketing_list(email_account_id=" ACME "), "acme") is None


@pytest.mark.parametrize(
    ("found", "problem"),
    [
        (None, Messages.LIST_NULL),
        (marketing_list(email_account_id="globex"), Messages.LIST_ACCOUNT_MISMATCH),
        (marketing_list(email_account_id=None), Messages.LIST_ACCOUNT_MISMATCH),
        (marketing_list(email_activated=False), Skip.NOT_SYNCED),
        (marketing_list(state=1), Skip.NOT_SYNCED),  # inactive
        # Another account's list is its problem to report, not a silent skip.
        (marketing_list(email_account_id="globex", state=1), Messages.LIST_ACCOUNT_MISMATCH),
    ],
)
def test_lists_that_cannot_or_need_not_sync_say_why(
    found: MarketingList | None, problem: str | Skip
) -> None:
    assert list_problem(found, "acme") == problem


LABELS = {
    label_key(label.name): label
    for label in (
        DataLabel(name="FIRSTNAME", is_synchronised=True),
        DataLabel(name="LASTNAME", is_synchronised=True),
        DataLabel(name="FULLNAME", is_synchronised=True),
        DataLabel(name="Tier", is_synchronised=True),
        DataLabel(name="SPEND", type=LabelType.NUMERIC, is_synchronised=True),
        DataLabel(name="COMPANY", is_synchronised=True),
        DataLabel(name="DRAFT"),  # not created in Dotdigital (yet)
    )
}
TYPES = {
    "firstname": "String",
    "lastname": "String",
    "jobtitle": "String",
    "annualincome": "Money",
    "parentcustomerid": "Customer",
    "preferredcontactmethodcode": "Picklist",
}


def mapping(label: str, column: str, direction: MappingDirection = BOTH, *,
            entity: MappedEntity = CONTACT, **linked: str) -> DataMapping:  # fmt: skip
    return DataMapping(label=label, entity=entity, primary_field=column, direction=direction,
                       **linked)  # type: ignore[arg-type]  # fmt: skip


def names(mappings: list[DataMapping], entity: MappedEntity = CONTACT) -> list[str]:
    return [field.name for field in inbound_fields(mappings, entity, LABELS, TYPES)]


def test_fields_written_back_are_the_inbound_mappings_of_the_entity() -> None:
    mappings = [
        *default_mappings(),  # ToPlatform: never written back
        mapping("TIER", "jobtitle"),
        mapping("SPEND", "annualincome", TO_DYNAMICS),
        mapping("LASTNAME", "lastname", BOTH, entity=LEAD),
    ]
    fields = inbound_fields(mappings, CONTACT, LABELS, TYPES)
    assert [(f.name, f.column, f.attribute_type) for f in fields] == [
        ("Tier", "jobtitle", "String"),  # the platform's spelling of the label
        ("SPEND", "annualincome", "Money"),
    ]
    assert [f.in_snapshot for f in fields] == [True, False]  # DataOut sends only the first
    assert names(mappings, LEAD) == ["LASTNAME"]


def test_the_email_linked_fields_and_unwritable_columns_are_never_written_back() -> None:
    mappings = [
        mapping("EMAIL", "firstname", BOTH),
        mapping("COMPANY", "parentcustomerid", TO_DYNAMICS),  # a lookup takes a bind
    ]
    assert names(mappings) == []
    # An option set column takes the option's number (new such mappings are refused by the
    # mapping validation, but one saved earlier is still written).
    assert names([mapping("TIER", "preferredcontactmethodcode", TO_DYNAMICS)]) == ["Tier"]
    linked = mapping("COMPANY", "parentcustomerid", BOTH, linked_entity="account",
                     linked_field="name")  # fmt: skip
    assert names([linked]) == []


def test_a_column_of_unknown_type_is_tried() -> None:
    assert names([mapping("TIER", "description")]) == ["Tier"]  # CrmMetadata has not seen it


def test_labels_the_platform_does_not_have_are_left_out() -> None:
    # Asking Dotdigital for an unknown data field would fail the whole read.
    assert names([mapping("DRAFT", "jobtitle"), mapping("NOPE", "lastname")]) == []
