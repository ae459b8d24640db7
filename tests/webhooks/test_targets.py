"""Which events ask for which work: members, lists, suppressions, and what is left alone."""

from __future__ import annotations

from typing import Any

from shared.mappings.model import DataMapping, MappedEntity, default_mappings
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent, EntityRef
from shared.webhooks.targets import Target, TargetKind, targets_of, watched_columns
from tests.webhooks.events import change_event

CONTACT = "6d81597f-0f9f-e711-8122-000d3aa2331c"
LIST = "a1b2c3d4-0000-4000-8000-000000000001"
OUT = SyncType.MARKETING_LISTS_DATA_OUT


def _event(message: str, entity: str, record_id: str = CONTACT, **fields: Any) -> ChangeEvent:
    return change_event(message, entity, record_id, **fields)


WATCHED = watched_columns(
    [
        *default_mappings(),
        DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT, primary_field="jobtitle"),
        DataMapping(label="COMPANY", entity=MappedEntity.CONTACT, primary_field="parentcustomerid",
                    linked_entity="account", linked_field="name"),
        DataMapping(label="COMPANY", entity=MappedEntity.LEAD, primary_field="companyname"),
    ],
    MappedEntity.CONTACT,
)  # fmt: skip


def test_watched_columns_are_state_email_and_every_mapped_column_of_the_table() -> None:
    assert {"statecode", "emailaddress1", "firstname", "jobtitle", "parentcustomerid"} <= WATCHED
    assert "companyname" not in WATCHED  # a lead column


def test_an_email_mapped_to_another_column_is_watched_instead_of_emailaddress1() -> None:
    email = DataMapping(label="Email", entity=MappedEntity.CONTACT, primary_field="emailaddress2")
    assert watched_columns([email], MappedEntity.CONTACT) == {"statecode", "emailaddress2"}


def test_a_member_update_of_a_pushed_column_targets_that_member() -> None:
    event = _event("Update", "contact", attributes={"jobtitle": "CTO", "modifiedon": "x"})
    assert targets_of(event, WATCHED) == [Target(OUT, TargetKind.MEMBER, "contact", CONTACT)]


def test_a_member_update_of_other_columns_targets_nothing() -> None:
    event = _event("Update", "contact", attributes={"telephone1": "1", "modifiedon": "x"})
    assert targets_of(event, WATCHED) == []


def test_an_oversized_update_has_no_columns_and_still_targets_the_member() -> None:
    event = _event("Update", "contact", size_exceeded=True)
    assert targets_of(event, WATCHED) == [Target(OUT, TargetKind.MEMBER, "contact", CONTACT)]


def test_a_deleted_member_targets_its_lists_a_created_one_waits_for_its_membership() -> None:
    assert targets_of(_event("Delete", "lead"), frozenset()) == [
        Target(OUT, TargetKind.MEMBER, "lead", CONTACT)
    ]
    assert targets_of(_event("Create", "contact", attributes={"jobtitle": "x"}), WATCHED) == []


def test_membership_changes_target_the_list_from_either_side() -> None:
    from_list = _event(
        "Associate", "list", LIST, relationship="listcontact_association",
        related=(EntityRef(logical_name="contact", id=CONTACT),),
    )  # fmt: skip
    from_member = _event(
        "Disassociate", "contact", CONTACT, relationship="listcontact_association",
        related=(EntityRef(logical_name="list", id=LIST),),
    )  # fmt: skip
    expected = [Target(OUT, TargetKind.LIST, "list", LIST)]
    assert targets_of(from_list, frozenset()) == expected
    assert targets_of(from_member, frozenset()) == expected


def test_an_oversized_membership_change_targets_every_list() -> None:
    event = _event("Associate", "none", "00000000-0000-0000-0000-000000000000", size_exceeded=True)
    assert targets_of(event, frozenset()) == [Target(OUT, TargetKind.ALL)]


def test_other_relationships_target_nothing() -> None:
    event = _event(
        "Associate", "contact", relationship="contactleads_association",
        related=(EntityRef(logical_name="lead", id=LIST),),
    )  # fmt: skip
    assert targets_of(event, WATCHED) == []


def test_list_settings_target_the_list_other_list_columns_do_not() -> None:
    flag = _event("Update", "list", LIST, attributes={"dms_emailactivated": True})
    name = _event("Update", "list", LIST, attributes={"description": "Spring"})
    created_on = _event("Create", "list", LIST, attributes={"dms_emailactivated": True})
    created_off = _event("Create", "list", LIST, attributes={"listname": "New"})
    assert targets_of(flag, frozenset()) == [Target(OUT, TargetKind.LIST, "list", LIST)]
    assert targets_of(name, frozenset()) == []
    assert targets_of(created_on, frozenset()) == [Target(OUT, TargetKind.LIST, "list", LIST)]
    assert targets_of(created_off, frozenset()) == []


def test_suppressions_start_the_suppression_sync_of_their_account() -> None:
    created = _event("Create", "dms_emailsuppression", attributes={"dms_emailaccountid": "acme"})
    resubscribe = _event(
        "Update", "dms_emailsuppression",
        attributes={"dms_requestresubscribe": True}, post_image={"dms_emailaccountid": "acme"},
    )  # fmt: skip
    other = _event("Update", "dms_emailsuppression", attributes={"dms_reason": "x"})
    acme = [Target(SyncType.SUPPRESSION_LISTS, TargetKind.ALL, account_id="acme")]
    assert targets_of(created, frozenset()) == acme
    assert targets_of(resubscribe, frozenset()) == acme
    assert targets_of(other, frozenset()) == []


def test_a_new_email_send_starts_its_accounts_email_sends_and_its_updates_do_not() -> None:
    created = _event("Create", "dms_emailsend", attributes={"dms_emailaccountid": "acme"})
    # The connector's own status writes are Updates: they must never start another run.
    moved = _event("Update", "dms_emailsend", attributes={"dms_status": 4})
    assert targets_of(created, frozenset()) == [
        Target(SyncType.EMAIL_SENDS, TargetKind.ALL, account_id="acme")
    ]
    assert targets_of(moved, frozenset()) == []


def test_an_enrolment_request_starts_the_program_enrolments_of_its_account() -> None:
    created = _event("Create", "dms_programenrolment", attributes={"dms_emailaccountid": "acme"})
    edited = _event("Update", "dms_programenrolment", attributes={"dms_status": 3})
    acme = [Target(SyncType.PROGRAM_ENROLMENTS, TargetKind.ALL, account_id="acme")]
    assert targets_of(created, frozenset()) == acme
    assert targets_of(edited, frozenset()) == []  # the connector's own status writes


def test_tables_no_sync_type_reads_target_nothing() -> None:
    assert targets_of(_event("Update", "opportunity", attributes={"name": "x"}), WATCHED) == []


def test_the_idempotency_key_tells_versions_apart_and_ignores_case() -> None:
    one = _event("Update", "contact", attributes={"jobtitle": "a"})
    again = _event("Update", "contact", CONTACT.upper(), attributes={"jobtitle": "b"})
    later = one.model_copy(update={"version": "2"})
    assert one.key == again.key
    assert one.key != later.key
