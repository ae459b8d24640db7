"""Unit tests of `marketing_lists.data_in_values`: comparing platform and CRM values across the
two APIs' spellings, and converting a platform value to its CRM column's type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.pipeline.mapping_validation import WRITABLE
from shared.storage.data_labels_repo import LabelType
from shared.sync.marketing_lists.data_in_values import (
    WRITABLE_TYPES,
    canonical,
    same,
    to_crm,
    writable,
)
from shared.sync.marketing_lists.values import convert

STRING, NUMERIC, DATE, BOOLEAN = (
    LabelType.STRING, LabelType.NUMERIC, LabelType.DATE, LabelType.BOOLEAN,
)  # fmt: skip


@pytest.mark.parametrize(
    ("left", "right", "label_type"),
    [
        (5.0, 5, NUMERIC),
        ("5", 5.0, NUMERIC),
        ("2026-01-02", "2026-01-02T00:00:00Z", DATE),
        ("2026-01-02", date(2026, 1, 2), DATE),
        ("2026-01-02T10:00:00", "2026-01-02T10:00:00Z", DATE),
        ("2026-01-02T11:00:00+01:00", "2026-01-02T10:00:00Z", DATE),
        ("2026-01-02T10:00:00z", datetime(2026, 1, 2, 10, tzinfo=UTC), DATE),
        ("true", True, BOOLEAN),
        (" Yes ", True, BOOLEAN),
        (0, "false", BOOLEAN),
        ("no", False, BOOLEAN),
        (None, "", STRING),
        (None, "   ", NUMERIC),
    ],
)
def test_values_spelled_differently_by_the_two_apis_are_the_same(
    left: Any, right: Any, label_type: LabelType
) -> None:
    assert same(left, right, label_type)
    assert same(right, left, label_type)


@pytest.mark.parametrize(
    ("left", "right", "label_type"),
    [
        ("Gold", "gold", STRING),  # text keeps its case: a user changed it
        ("Gold", " Gold", STRING),
        ("5", "5.5", NUMERIC),
        (0, None, NUMERIC),  # zero is a value, empty is not
        (False, None, BOOLEAN),
        ("2026-01-02", "2026-01-02T00:00:00+01:00", DATE),  # another instant
        ("2026-01-02T10:00:00Z", "2026-01-02T10:00:01Z", DATE),
        ("maybe", True, BOOLEAN),
    ],
)
def test_different_values_are_not_the_same(left: Any, right: Any, label_type: LabelType) -> None:
    assert not same(left, right, label_type)


def test_a_value_that_is_not_of_the_label_type_is_compared_as_text() -> None:
    assert canonical(" soon ", DATE) == "soon"
    assert canonical("n/a", NUMERIC) == "n/a"
    assert canonical("maybe", BOOLEAN) == "maybe"
    assert same("soon", "soon ", DATE)


@pytest.mark.parametrize(
    ("value", "attribute_type", "label_type", "expected"),
    [
        ("5.0", "Integer", NUMERIC, 5),
        (5.0, "BigInt", NUMERIC, 5),
        ("3", "Picklist", STRING, 3),
        (2.5, "Money", NUMERIC, 2.5),
        ("2.50", "Decimal", STRING, 2.5),
        ("yes", "Boolean", BOOLEAN, True),
        (0, "Boolean", BOOLEAN, False),
        ("2026-01-02T10:00:00", "DateTime", DATE, "2026-01-02T10:00:00Z"),
        ("2026-01-02T11:00:00+01:00", "DateTime", DATE, "2026-01-02T10:00:00Z"),
        ("2026-01-02", "DateTime", DATE, "2026-01-02"),
        (7, "String", STRING, "7"),
        (True, "Memo", STRING, "true"),
        ("", "String", STRING, None),
        ("  ", "Integer", NUMERIC, None),
        # A column of unknown type takes the label's type.
        ("Gold", "", STRING, "Gold"),
        ("7.0", "", NUMERIC, 7),
        ("7.5", "", NUMERIC, 7.5),
        ("2026-01-02T10:00:00", "", DATE, "2026-01-02T10:00:00Z"),
        ("false", "", BOOLEAN, False),
    ],
)
def test_platform_values_take_the_crm_column_type(
    value: Any, attribute_type: str, label_type: LabelType, expected: Any
) -> None:
    converted = to_crm(value, attribute_type, label_type)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(
    ("value", "attribute_type", "label_type"),
    [
        ("5.5", "Integer", STRING),
        (5.5, "Picklist", NUMERIC),
        ("soon", "DateTime", STRING),
        ("maybe", "Boolean", STRING),
        (2, "Boolean", NUMERIC),
        (True, "Decimal", BOOLEAN),  # a yes/no is not a number
        ("NaN", "Double", STRING),
        ("inf", "Money", STRING),
        ("n/a", "", NUMERIC),
    ],
)
def test_a_platform_value_that_does_not_fit_is_refused(
    value: Any, attribute_type: str, label_type: LabelType
) -> None:
    with pytest.raises(ValueError, match="is not a"):
        to_crm(value, attribute_type, label_type)


def test_only_columns_that_take_a_plain_value_are_writable() -> None:
    assert writable("")  # type unknown: try it
    for attribute_type in ("String", "Memo", "Integer", "Picklist", "Money", "DateTime"):
        assert writable(attribute_type)
    for attribute_type in ("Lookup", "Customer", "Owner", "State", "Status", "Uniqueidentifier"):
        assert not writable(attribute_type)


def test_every_column_type_a_to_dynamics_mapping_is_accepted_for_is_written_by_data_in() -> None:
    # Else a mapping saved without complaint would be dropped silently by every run.
    assert WRITABLE <= WRITABLE_TYPES


# Properties: a value DataIn writes reads back (as DataOut sends it) as the same value, so the
# next run finds the two sides agreeing and writes nothing.

_whole = st.integers(min_value=-(10**12), max_value=10**12)
_decimal = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(
    lambda number: number != int(number)
)
_moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda moment: moment.replace(microsecond=0)
)  # Dataverse keeps whole seconds
_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@st.composite
def _dates(draw: st.DrawFn) -> Any:
    """A date value as Dotdigital may spell it."""
    moment = draw(_moments)
    spelling = draw(st.sampled_from(["naive", "z", "offset", "date", "object"]))
    if spelling == "naive":
        return moment.isoformat()
    if spelling == "z":
        return moment.isoformat() + "Z"
    if spelling == "offset":
        return moment.replace(tzinfo=draw(_offsets)).isoformat()
    if spelling == "date":
        return moment.date().isoformat()
    return moment.replace(tzinfo=UTC)


def _numbers(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, values.map(str))


_text = st.text(min_size=1).filter(lambda text: text.strip() != "")
_flags = st.sampled_from([True, False, 0, 1, "true", "False", "YES", "no", "1", "0"])

_CASES: list[tuple[LabelType, str, st.SearchStrategy[Any]]] = [
    (STRING, "String", _text),
    (STRING, "Memo", _text),
    (STRING, "", _text),
    (NUMERIC, "Integer", _numbers(_whole)),
    (NUMERIC, "BigInt", _numbers(_whole | _whole.map(float))),
    (NUMERIC, "Decimal", _numbers(_whole | _decimal)),
    (NUMERIC, "Double", _numbers(_decimal)),
    (NUMERIC, "Money", _numbers(_whole | _decimal)),
    (NUMERIC, "", _numbers(_whole | _decimal)),
    (DATE, "DateTime", _dates()),
    (DATE, "", _dates()),
    (BOOLEAN, "Boolean", _flags),
    (BOOLEAN, "", _flags),
]


@st.composite
def _typed_values(draw: st.DrawFn) -> tuple[LabelType, str, Any]:
    label_type, attribute_type, values = draw(st.sampled_from(_CASES))
    return label_type, attribute_type, draw(values)


@settings(max_examples=500, deadline=None)
@given(case=_typed_values())
def test_a_written_value_reads_back_as_the_platform_value(case: tuple[LabelType, str, Any]) -> None:
    label_type, attribute_type, value = case
    written = to_crm(value, attribute_type, label_type)
    assert written is not None
    assert same(convert(written, label_type), value, label_type)
    # Writing it again is writing the same value.
    assert to_crm(convert(written, label_type), attribute_type, label_type) == written


@settings(max_examples=300, deadline=None)
@given(
    left=st.one_of(_text, _whole, _decimal, _flags, _dates(), st.none()),
    right=st.one_of(_text, _whole, _decimal, _flags, _dates(), st.none()),
    label_type=st.sampled_from(LabelType),
)
def test_same_is_symmetric_and_reflexive(left: Any, right: Any, label_type: LabelType) -> None:
    assert same(left, left, label_type)
    assert same(left, right, label_type) == same(right, left, label_type)
