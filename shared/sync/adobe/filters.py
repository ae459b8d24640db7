"""Filters: which Dynamics records go to Campaign. A rule is (field, comparison, value); the
rules are joined by one And/Or; no rule lets every record through. A record that fails the
filter is skipped, or deleted in Campaign when "delete filtered out" is on.

Adobe does not document its operators, so these are the connector's own (`Comparison`):
equality and ordering compare numbers as numbers and ISO dates as instants when both sides
are such, else text ignoring case (as Dataverse's own string comparisons do); a boolean
matches true/false, yes/no or 1/0; an empty value (null or "") equals only "" and is neither
greater nor less than anything."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.storage.adobe_config_model import Comparison, FilterRule, Join, RecordFilter
from shared.sync.adobe.values import boolean_of, moment_of, number_of, text_of


class FilterOutcome(StrEnum):
    SYNC = "Sync"
    SKIP = "Skip"  # filtered out, left in Campaign as it was
    DELETE = "Delete"  # filtered out and "delete records in Campaign that are filtered out"


def _ordered(left: str, right: str) -> int:
    """-1, 0 or 1: as numbers, else as instants, else as case-folded text."""
    pairs = (
        (number_of(left), number_of(right)),
        (moment_of(left), moment_of(right)),
    )
    for a, b in pairs:
        if a is not None and b is not None:
            return (a > b) - (a < b)  # type: ignore[operator]
    a_text, b_text = left.casefold(), right.casefold()
    return (a_text > b_text) - (a_text < b_text)


def _equal(value: object, expected: str) -> bool:
    if isinstance(value, bool):
        return boolean_of(expected) is value
    text = text_of(value)
    if text == "" or expected == "":
        return text == expected
    return _ordered(text, expected) == 0


def matches(rule: FilterRule, record: Mapping[str, object]) -> bool:
    value = record.get(rule.dynamics_field)
    text = text_of(value)
    match rule.comparison:
        case Comparison.IS_EMPTY:
            return text == ""
        case Comparison.IS_NOT_EMPTY:
            return text != ""
        case Comparison.EQUALS:
            return _equal(value, rule.value)
        case Comparison.NOT_EQUALS:
            return not _equal(value, rule.value)
        case Comparison.CONTAINS:
            return rule.value.casefold() in text.casefold()
        case Comparison.STARTS_WITH:
            return text.casefold().startswith(rule.value.casefold())
        case Comparison.GREATER_THAN:
            return text != "" and _ordered(text, rule.value) > 0
        case Comparison.LESS_THAN:
            return text != "" and _ordered(text, rule.value) < 0


def passes(record_filter: RecordFilter, record: Mapping[str, object]) -> bool:
    if not record_filter.rules:
        return True
    results = (matches(rule, record) for rule in record_filter.rules)
    return all(results) if record_filter.join is Join.AND else any(results)


def decide(record_filter: RecordFilter, record: Mapping[str, object]) -> FilterOutcome:
    if passes(record_filter, record):
        return FilterOutcome.SYNC
    return FilterOutcome.DELETE if record_filter.delete_filtered_out else FilterOutcome.SKIP
