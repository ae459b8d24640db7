"""Which Dynamics column types fit which Campaign field types when a mapping is saved: text
takes anything; typed fields refuse the clear mismatches and say what to map instead."""

from __future__ import annotations

import pytest

from shared.clients.adobe.metadata import CampaignField
from shared.sync.adobe.field_types import refusal


def _refusal(dynamics_type: str, kind: str, target: str = "") -> str | None:
    field = CampaignField(api_name="f", kind=kind, target=target)
    return refusal(dynamics_type, field, where="profile.f", column="col")


@pytest.mark.parametrize(
    "dynamics_type", ["String", "Memo", "DateTime", "Boolean", "Money", "Lookup", "Picklist"]
)
def test_a_campaign_string_takes_any_column(dynamics_type: str) -> None:
    assert _refusal(dynamics_type, "string") is None


@pytest.mark.parametrize(
    ("dynamics_type", "kind"),
    [("Boolean", "boolean"), ("Picklist", "boolean"), ("DateTime", "date"),
     ("DateTime", "datetime"), ("Money", "number"), ("Integer", "number"),
     ("Picklist", "enumeration"), ("Lookup", "link"), ("Uniqueidentifier", "link"),
     ("String", "date"), ("Image", "boolean")],
)  # fmt: skip
def test_fitting_types_are_taken(dynamics_type: str, kind: str) -> None:
    assert _refusal(dynamics_type, kind) is None


def test_a_date_into_a_boolean_is_refused_saying_what_to_map() -> None:
    said = _refusal("DateTime", "boolean")
    assert said == (
        "'col' is a DateTime column and profile.f is a boolean field: map a Boolean column (or "
        "a choice, with replacements to true/false) to it, or map 'col' to a Campaign text "
        "field (values of other types are sent as strings)."
    )


@pytest.mark.parametrize(
    ("dynamics_type", "kind"),
    [("Boolean", "date"), ("Money", "datetime"), ("Lookup", "number"), ("DateTime", "number"),
     ("Decimal", "boolean"), ("DateTime", "enumeration"), ("Boolean", "link"),
     ("Memo", "number")],
)  # fmt: skip
def test_clear_mismatches_are_refused(dynamics_type: str, kind: str) -> None:
    assert _refusal(dynamics_type, kind) is not None


def test_a_collection_or_a_group_takes_no_column() -> None:
    said = _refusal("String", "collection", target="cusTransaction")
    assert said is not None and "map a field of cusTransaction instead" in said
    assert _refusal("String", "item") is not None
