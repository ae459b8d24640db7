"""Filter rules as an administrator types them, against Web API record values: numbers,
dates, booleans, text ignoring case, empty values; And/Or; filtered out -> skip or delete."""

from __future__ import annotations

import pytest

from shared.storage.adobe_config_model import Comparison, FilterRule, Join, RecordFilter
from shared.sync.adobe.filters import FilterOutcome, decide, matches, passes

RECORD: dict[str, object] = {
    "address1_country": "France",
    "annualincome": 52000.0,
    "numberofchildren": 2,
    "donotbulkemail": False,
    "birthdate": "1990-05-17",
    "modifiedon": "2026-11-20T09:00:00Z",
    "jobtitle": None,
    "description": "",
}


@pytest.mark.parametrize(
    ("field", "comparison", "value", "expected"),
    [
        ("address1_country", Comparison.EQUALS, "france", True),
        ("address1_country", Comparison.NOT_EQUALS, "Spain", True),
        ("address1_country", Comparison.CONTAINS, "RAN", True),
        ("address1_country", Comparison.STARTS_WITH, "fr", True),
        ("address1_country", Comparison.STARTS_WITH, "an", False),
        ("annualincome", Comparison.EQUALS, "52000", True),
        ("annualincome", Comparison.GREATER_THAN, "9000", True),  # numbers, not text
        ("numberofchildren", Comparison.LESS_THAN, "10", True),
        ("donotbulkemail", Comparison.EQUALS, "false", True),
        ("donotbulkemail", Comparison.EQUALS, "no", True),
        ("donotbulkemail", Comparison.EQUALS, "0", True),
        ("donotbulkemail", Comparison.EQUALS, "true", False),
        ("birthdate", Comparison.LESS_THAN, "2000-01-01", True),
        ("modifiedon", Comparison.GREATER_THAN, "2026-11-20T08:59:59+00:00", True),
        ("modifiedon", Comparison.GREATER_THAN, "2026-11-20T10:00:00+01:00", False),  # equal
        ("jobtitle", Comparison.IS_EMPTY, "", True),
        ("description", Comparison.IS_EMPTY, "", True),
        ("address1_country", Comparison.IS_NOT_EMPTY, "", True),
        ("jobtitle", Comparison.EQUALS, "Engineer", False),
        ("jobtitle", Comparison.NOT_EQUALS, "Engineer", True),
        ("jobtitle", Comparison.GREATER_THAN, "A", False),  # empty is neither greater ...
        ("jobtitle", Comparison.LESS_THAN, "A", False),  # ... nor less
        ("missingcolumn", Comparison.IS_EMPTY, "", True),
    ],
)
def test_comparisons(field: str, comparison: Comparison, value: str, expected: bool) -> None:
    rule = FilterRule(dynamics_field=field, comparison=comparison, value=value)
    assert matches(rule, RECORD) is expected


def test_rules_join_with_one_and_or_and_no_rule_lets_everything_through() -> None:
    france = FilterRule(dynamics_field="address1_country", comparison=Comparison.EQUALS,
                        value="France")  # fmt: skip
    rich = FilterRule(dynamics_field="annualincome", comparison=Comparison.GREATER_THAN,
                      value="100000")  # fmt: skip
    assert passes(RecordFilter(), RECORD)
    assert not passes(RecordFilter(rules=[france, rich], join=Join.AND), RECORD)
    assert passes(RecordFilter(rules=[france, rich], join=Join.OR), RECORD)


def test_a_filtered_out_record_is_skipped_or_deleted_as_configured() -> None:
    spain = FilterRule(dynamics_field="address1_country", comparison=Comparison.EQUALS,
                       value="Spain")  # fmt: skip
    assert decide(RecordFilter(rules=[spain]), RECORD) is FilterOutcome.SKIP
    deleting = RecordFilter(rules=[spain], delete_filtered_out=True)
    assert decide(deleting, RECORD) is FilterOutcome.DELETE
    assert decide(deleting, {**RECORD, "address1_country": "spain"}) is FilterOutcome.SYNC
