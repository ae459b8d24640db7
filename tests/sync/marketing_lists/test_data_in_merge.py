"""Unit tests of `marketing_lists.data_in_merge`: the three-way merge of one list member's
fields (platform now, Dynamics now, what both last agreed on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.mappings.model import DataMapping, MappedEntity, MappingDirection
from shared.storage.data_labels_repo import DataLabel, LabelType, label_key
from shared.sync.marketing_lists.data_in_merge import (
    InboundField,
    MemberPlan,
    plan_member,
    platform_wins,
)
from shared.sync.marketing_lists.data_in_values import canonical, same, to_crm

BOTH, TO_DYNAMICS = MappingDirection.BOTH, MappingDirection.TO_DYNAMICS
EARLY = datetime(2026, 1, 2, 9, tzinfo=UTC)
LATE = datetime(2026, 1, 2, 10, tzinfo=UTC)


def inbound(
    label: str = "TIER",
    column: str = "jobtitle",
    *,
    direction: MappingDirection = BOTH,
    label_type: LabelType = LabelType.STRING,
    attribute_type: str = "String",
    default: str | None = None,
) -> InboundField:
    mapping = DataMapping(
        label=label, entity=MappedEntity.CONTACT, primary_field=column, direction=direction
    )
    return InboundField(
        mapping, DataLabel(name=label, type=label_type, default_value=default), attribute_type
    )


TIER = inbound()


def plan(
    p: Any,
    c: Any,
    s: Any = None,
    *,
    field: InboundField = TIER,
    synced: bool = True,
    platform_updated: datetime | None = EARLY,
    crm_modified: datetime | None = EARLY,
) -> MemberPlan:
    """One field: platform value p, CRM value c, agreed value s (when `synced`)."""
    return plan_member(
        [field],
        {label_key(field.name): p},
        {field.name: s} if synced else {},
        {field.column: c},
        platform_updated=platform_updated,
        crm_modified=crm_modified,
    )


ANY_ORDER = pytest.mark.parametrize(
    ("platform_updated", "crm_modified"),
    [(EARLY, LATE), (LATE, EARLY), (EARLY, EARLY), (None, LATE), (LATE, None), (None, None)],
)


@pytest.mark.parametrize(
    ("updated", "modified", "wins"),
    [
        (LATE, EARLY, True),
        (EARLY, LATE, False),
        (EARLY, EARLY, False),  # a tie goes to Dynamics
        (LATE, None, True),
        (None, EARLY, False),
        (None, None, False),
    ],
)
def test_the_platform_wins_only_with_the_more_recent_known_change(
    updated: datetime | None, modified: datetime | None, wins: bool
) -> None:
    assert platform_wins(updated, modified) is wins


@ANY_ORDER
def test_a_field_changed_only_on_the_platform_is_written_whatever_the_record_dates(
    platform_updated: datetime | None, crm_modified: datetime | None
) -> None:
    # Dynamics may have changed another field later: this one it did not touch.
    result = plan("Gold", "Silver", "Silver", platform_updated=platform_updated,
                  crm_modified=crm_modified)  # fmt: skip
    assert result.writes == {"jobtitle": "Gold"}
    assert result.agreed == {"TIER": "Gold"}


@ANY_ORDER
def test_a_field_changed_only_in_dynamics_is_kept_and_left_to_data_out(
    platform_updated: datetime | None, crm_modified: datetime | None
) -> None:
    result = plan("Silver", "Gold", "Silver", platform_updated=platform_updated,
                  crm_modified=crm_modified)  # fmt: skip
    assert result == MemberPlan()


@ANY_ORDER
def test_a_field_unchanged_on_both_sides_is_not_written(
    platform_updated: datetime | None, crm_modified: datetime | None
) -> None:
    result = plan("Gold", "Gold", "Gold", platform_updated=platform_updated,
                  crm_modified=crm_modified)  # fmt: skip
    assert result == MemberPlan()


@ANY_ORDER
def test_both_sides_changed_to_the_same_value_is_only_recorded(
    platform_updated: datetime | None, crm_modified: datetime | None
) -> None:
    result = plan("Gold", "Gold", "Silver", platform_updated=platform_updated,
                  crm_modified=crm_modified)  # fmt: skip
    assert result.writes == {} and result.agreed == {"TIER": "Gold"}


@pytest.mark.parametrize(
    ("platform_updated", "crm_modified", "written"),
    [
        (LATE, EARLY, True),
        (EARLY, LATE, False),
        (EARLY, EARLY, False),  # a tie goes to Dynamics
        (None, LATE, False),  # no date for the platform's change: Dynamics keeps its value
        (LATE, None, True),
    ],
)
def test_both_sides_changed_differently_the_newer_record_wins(
    platform_updated: datetime | None, crm_modified: datetime | None, written: bool
) -> None:
    result = plan("Gold", "Bronze", "Silver", platform_updated=platform_updated,
                  crm_modified=crm_modified)  # fmt: skip
    if written:
        assert result.writes == {"jobtitle": "Gold"} and result.agreed == {"TIER": "Gold"}
    else:
        assert result == MemberPlan()  # DataOut pushes Dynamics' value


def test_a_value_cleared_on_the_platform_clears_dynamics() -> None:
    result = plan(None, "Silver", "Silver")
    assert result.writes == {"jobtitle": None} and result.agreed == {"TIER": None}


def test_spellings_of_one_value_are_no_change() -> None:
    amount = inbound("SPEND", "annualincome", label_type=LabelType.NUMERIC, attribute_type="Money")
    assert plan(5.0, 5, 5, field=amount) == MemberPlan()
    assert plan("5", 5, 5.0, field=amount) == MemberPlan()
    birthday = inbound("BIRTHDAY", "birthdate", label_type=LabelType.DATE,
                       attribute_type="DateTime")  # fmt: skip
    assert plan("2026-01-02T00:00:00", "2026-01-02", "2026-01-02", field=birthday) == MemberPlan()


def test_values_are_written_in_the_crm_column_type() -> None:
    amount = inbound("SPEND", "annualincome", label_type=LabelType.NUMERIC, attribute_type="Money")
    assert plan("12.50", 10.0, 10.0, field=amount).writes == {"annualincome": 12.5}
    seats = inbound("SEATS", "numberofseats", label_type=LabelType.NUMERIC,
                    attribute_type="Integer")  # fmt: skip
    assert plan(12.0, 3, 3, field=seats).writes == {"numberofseats": 12}
    flag = inbound("NOBULK", "donotbulkemail", label_type=LabelType.BOOLEAN,
                   attribute_type="Boolean")  # fmt: skip
    assert plan("true", False, False, field=flag).writes == {"donotbulkemail": True}


def test_a_value_that_does_not_fit_its_column_names_the_field() -> None:
    seats = inbound("SEATS", "numberofseats", label_type=LabelType.NUMERIC,
                    attribute_type="Integer")  # fmt: skip
    with pytest.raises(ValueError, match=r"^SEATS: '12\.5' is not a whole number$"):
        plan(12.5, 3, 3, field=seats)


def test_an_empty_platform_value_without_an_agreed_one_never_clears_dynamics() -> None:
    role = inbound(direction=TO_DYNAMICS)
    assert plan(None, "Engineer", field=role, synced=False, platform_updated=LATE,
                crm_modified=None) == MemberPlan()  # fmt: skip
    result = plan("Gold", "Engineer", field=role, synced=False, platform_updated=LATE,
                  crm_modified=None)  # fmt: skip
    assert result.writes == {"jobtitle": "Gold"} and result.agreed == {}  # ToDynamics: not agreed


def test_a_to_dynamics_field_is_never_agreed_even_if_the_snapshot_names_it() -> None:
    # DataOut never sends it, so a value under its name in the snapshot is not an agreed one.
    role = inbound(direction=TO_DYNAMICS)
    result = plan("Gold", "Engineer", "Engineer", field=role, platform_updated=EARLY,
                  crm_modified=LATE)  # fmt: skip
    assert result == MemberPlan()  # both "changed": Dynamics is newer
    assert plan("Gold", "Gold", "Silver", field=role) == MemberPlan()


def test_a_field_without_an_agreed_value_is_changed_on_both_sides() -> None:
    # A mapping added since the last push: no agreed value, so the newer record decides.
    assert plan("Gold", "Silver", synced=False, platform_updated=LATE,
                crm_modified=EARLY).writes == {"jobtitle": "Gold"}  # fmt: skip
    assert plan("Gold", "Silver", synced=False, platform_updated=EARLY,
                crm_modified=LATE) == MemberPlan()  # fmt: skip
    # Even an empty Dynamics field: without an agreed value, emptied there is a change too.
    assert plan("Gold", None, synced=False, platform_updated=EARLY,
                crm_modified=LATE) == MemberPlan()  # fmt: skip
    agreed = plan("Gold", "Gold", synced=False)
    assert agreed.writes == {} and agreed.agreed == {"TIER": "Gold"}


def test_a_label_default_stands_for_an_empty_crm_value() -> None:
    tier = inbound(default="Customer")
    assert plan("Customer", None, "Customer", field=tier) == MemberPlan()
    changed = plan("Gold", None, "Customer", field=tier)
    assert changed.writes == {"jobtitle": "Gold"} and changed.agreed == {"TIER": "Gold"}


def test_clearing_a_field_dynamics_holds_only_by_its_default_writes_nothing() -> None:
    # The platform emptied a field DataOut filled with the label default: Dynamics is empty.
    tier = inbound(default="Customer")
    assert plan(None, None, "Customer", field=tier, platform_updated=LATE).writes == {}


def test_each_field_is_merged_on_its_own() -> None:
    city = inbound("CITY", "address1_city")
    role = inbound("JOBROLE", "description", direction=TO_DYNAMICS)
    result = plan_member(
        [TIER, city, role],
        {"TIER": "Gold", "CITY": "York", "JOBROLE": "CTO"},
        {"TIER": "Silver", "CITY": "Leeds"},
        {"jobtitle": "Silver", "address1_city": "Hull", "description": "Engineer"},
        platform_updated=EARLY,
        crm_modified=LATE,
    )
    # TIER changed only on the platform; CITY on both sides, and the record was modified later
    # in Dynamics; JOBROLE has no agreed value, so it is a change on both sides too.
    assert result.writes == {"jobtitle": "Gold"}
    assert result.agreed == {"TIER": "Gold"}


def test_platform_values_are_found_by_label_key_and_agreed_ones_by_label_name() -> None:
    tier = inbound("Customer Tier", "jobtitle")
    result = plan_member(
        [tier],
        {"CUSTOMER_TIER": "Gold"},
        {"Customer Tier": "Silver"},
        {"jobtitle": "Silver"},
        platform_updated=None,
        crm_modified=None,
    )
    assert result.writes == {"jobtitle": "Gold"} and result.agreed == {"Customer Tier": "Gold"}


# Properties over small pools of values, so that equal and differently spelled values meet.


@dataclass(frozen=True)
class _Kind:
    label_type: LabelType
    attribute_type: str
    platform: tuple[Any, ...]  # values as Dotdigital spells them
    crm: tuple[Any, ...]  # values as Dataverse returns them
    defaults: tuple[str | None, ...] = (None,)


_KINDS = (
    _Kind(LabelType.STRING, "String", (None, "", "Gold", "gold", "Silver", " Gold"),
          (None, "Gold", "Silver", "Bronze"), (None, "Gold", "Basic")),
    _Kind(LabelType.STRING, "", (None, "Gold", "Silver"), (None, "Gold", "Silver")),
    _Kind(LabelType.STRING, "Integer", (None, "7", "007", "8"), (None, 7, 8)),
    _Kind(LabelType.NUMERIC, "Integer", (None, 0, 1, 1.0, "2", 3), (None, 0, 1, 2, 3),
          (None, "0", "1")),
    _Kind(LabelType.NUMERIC, "Money", (None, 0, 1.5, "1.50", 2), (None, 0, 1.5, 2.0), (None, "0")),
    _Kind(LabelType.NUMERIC, "", (None, 1, 2.5, "2.5"), (None, 1, 2.5)),
    _Kind(LabelType.BOOLEAN, "Boolean", (None, True, False, "true", "false", "Yes"),
          (None, True, False), (None, "false", "true")),
    _Kind(LabelType.DATE, "DateTime",
          (None, "2026-01-02T00:00:00", "2026-01-02T10:00:00", "2026-03-04T05:06:07Z",
           "2026-01-02"),
          (None, "2026-01-02T00:00:00Z", "2026-01-02T10:00:00Z", "2026-05-06T00:00:00Z")),
)  # fmt: skip
_DATES = st.sampled_from([None, EARLY, LATE])


@dataclass(frozen=True)
class _Member:
    fields: list[InboundField]
    platform: dict[str, Any]
    synced: dict[str, Any]
    record: dict[str, Any]
    platform_updated: datetime | None
    crm_modified: datetime | None

    def plan(self, synced: dict[str, Any] | None = None, record: dict[str, Any] | None = None,
             crm_modified: datetime | None = None) -> MemberPlan:  # fmt: skip
        return plan_member(
            self.fields,
            self.platform,
            self.synced if synced is None else synced,
            self.record if record is None else record,
            platform_updated=self.platform_updated,
            crm_modified=self.crm_modified if crm_modified is None else crm_modified,
        )


@st.composite
def _members(draw: st.DrawFn) -> _Member:
    fields, platform, synced, record = [], {}, {}, {}
    kinds = draw(st.lists(st.sampled_from(_KINDS), min_size=1, max_size=4))
    for number, kind in enumerate(kinds):
        name = f"F{number}"
        field = inbound(
            name,
            f"column{number}",
            direction=draw(st.sampled_from([BOTH, TO_DYNAMICS])),
            label_type=kind.label_type,
            attribute_type=kind.attribute_type,
            default=draw(st.sampled_from(kind.defaults)),
        )
        fields.append(field)
        platform[label_key(name)] = draw(st.sampled_from(kind.platform))
        record[field.column] = draw(st.sampled_from(kind.crm))
        # What DataOut last sent: some CRM value in platform form, or a platform value.
        agreed = st.sampled_from(kind.crm).map(lambda c, f=field: f.platform_form({f.column: c}))
        if draw(st.booleans()):
            synced[name] = draw(agreed | st.sampled_from(kind.platform))
    return _Member(fields, platform, synced, record, draw(_DATES), draw(_DATES))


def _applied(member: _Member, result: MemberPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record and the snapshot once the plan's writes are done."""
    return {**member.record, **result.writes}, {**member.synced, **result.agreed}


@settings(max_examples=300, deadline=None)
@given(member=_members())
def test_merging_the_merged_result_again_writes_nothing(member: _Member) -> None:
    first = member.plan()
    record, synced = _applied(member, first)
    assert member.plan(synced, record).writes == {}
    if first.writes:  # the write made Dynamics' record the newer one
        assert (
            member.plan(synced, record, crm_modified=datetime.max.replace(tzinfo=UTC)).writes == {}
        )


@settings(max_examples=300, deadline=None)
@given(member=_members())
def test_writes_carry_the_platform_value_only_where_the_platform_changed_it(
    member: _Member,
) -> None:
    result = member.plan()
    for field in member.fields:
        p = member.platform[label_key(field.name)]
        kind = field.label.type
        known = field.in_snapshot and field.name in member.synced
        if known and same(p, member.synced[field.name], kind):
            assert field.column not in result.writes  # Dynamics' value (changed or not) stays
        if field.column in result.writes:
            assert same(result.writes[field.column], to_crm(p, field.attribute_type, kind), kind)
            assert not same(result.writes[field.column], member.record[field.column], kind)
            if not known:
                assert canonical(p, kind) is not None  # never cleared without an agreed value


@settings(max_examples=300, deadline=None)
@given(member=_members())
def test_a_change_made_only_on_the_platform_reaches_dynamics(member: _Member) -> None:
    result = member.plan()
    record, synced = _applied(member, result)
    for field in member.fields:
        kind = field.label.type
        if not (field.in_snapshot and field.name in member.synced):
            continue
        p, s = member.platform[label_key(field.name)], member.synced[field.name]
        c = field.platform_form(member.record)
        if same(c, s, kind) and not same(p, s, kind):
            # Dynamics now holds the platform's value as its column takes it (or nothing).
            assert same(record[field.column], to_crm(p, field.attribute_type, kind), kind)
            if field.column in result.writes:
                assert same(synced[field.name], field.platform_form(record), kind)
