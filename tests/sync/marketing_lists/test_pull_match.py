"""Unit tests of `marketing_lists.pull_match`: the email filter, and how the rows Dataverse
answers become matches keyed by email (the `$batch` itself runs in the AddressBooks e2e tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.sync.marketing_lists.pull_match import Lookup, Match, email_filter

ADA = "0f1e2d3c-4b5a-4697-8877-665544332211"
ADA_TOO = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"


def test_each_email_is_one_eq_clause_joined_by_or() -> None:
    assert email_filter("emailaddress1", ["ada@example.com", "ben@x.org"]) == (
        "emailaddress1 eq 'ada@example.com' or emailaddress1 eq 'ben@x.org'"
    )


def test_a_quote_in_an_email_is_doubled() -> None:
    assert email_filter("emailaddress1", ["o'brien@example.ie"]) == (
        "emailaddress1 eq 'o''brien@example.ie'"
    )


@pytest.mark.parametrize("column", ["emailaddress1 eq 'x' or true", "email-address", ""])
def test_the_column_must_be_a_column_name(column: str) -> None:
    with pytest.raises(ValueError, match="not a Dataverse column name"):
        email_filter(column, ["ada@example.com"])


def found(*rows: dict[str, object], wanted: set[str] | None = None) -> Lookup:
    lookup = Lookup()
    lookup.add_found(rows, "contactid", "emailaddress1", wanted or {"ada@example.com"})
    return lookup


def test_a_record_matches_its_email_whatever_its_case() -> None:
    lookup = found({"contactid": ADA.upper(), "emailaddress1": "Ada@Example.COM", "statecode": 0})
    assert lookup.matches == {"ada@example.com": [Match(ADA, True)]}  # ids lower-cased too


@pytest.mark.parametrize(("state", "active"), [(0, True), (1, False), (2, False), (None, False)])
def test_only_statecode_0_is_active(state: int | None, active: bool) -> None:
    # 0: an active contact or account, an open lead; 1/2: inactive, qualified or disqualified.
    lookup = found({"contactid": ADA, "emailaddress1": "ada@example.com", "statecode": state})
    assert lookup.matches["ada@example.com"] == [Match(ADA, active)]


def test_every_record_with_the_email_is_kept_in_the_order_found() -> None:
    lookup = found(
        {"contactid": ADA, "emailaddress1": "ada@example.com", "statecode": 1},
        {"contactid": ADA_TOO, "emailaddress1": "ADA@example.com", "statecode": 0},
    )
    assert lookup.matches == {"ada@example.com": [Match(ADA, False), Match(ADA_TOO, True)]}


def test_rows_for_other_emails_or_without_an_id_are_ignored() -> None:
    lookup = found(
        {"contactid": ADA, "emailaddress1": "ada@example.org", "statecode": 0},
        {"contactid": ADA, "emailaddress1": None, "statecode": 0},
        {"contactid": None, "emailaddress1": "ada@example.com", "statecode": 0},
        {"emailaddress1": "ada@example.com", "statecode": 0},
    )
    assert lookup.matches == {}


def test_list_members_are_known_by_their_email_whatever_its_case() -> None:
    lookup = Lookup()
    rows = [{"contactid": ADA, "emailaddress1": "ADA@example.com"}, {"contactid": ADA_TOO}]
    lookup.add_in_list(rows, "emailaddress1", {"ada@example.com", "ben@x.org"})
    assert lookup.in_list == {"ada@example.com"}


def test_merged_lookups_keep_everything_each_found() -> None:
    first = found({"contactid": ADA, "emailaddress1": "ada@example.com", "statecode": 0})
    first.in_list.add("ada@example.com")
    second = found({"contactid": ADA_TOO, "emailaddress1": "ada@example.com", "statecode": 1})
    second.failed["ben@x.org"] = "HTTP 503"
    first.merge(second)
    assert first.matches == {"ada@example.com": [Match(ADA, True), Match(ADA_TOO, False)]}
    assert first.in_list == {"ada@example.com"} and first.failed == {"ben@x.org": "HTTP 503"}


_letters = st.text(st.sampled_from("abcABC.'"), min_size=1, max_size=6)
_emails = st.builds(lambda user, domain: f"{user}@{domain}.example", _letters, _letters)


def _lookup(rows: list[tuple[str, int]], wanted: set[str]) -> Lookup:
    lookup = Lookup()
    records = [
        {"contactid": f"00000000-0000-4000-8000-{number:012d}", "emailaddress1": email,
         "statecode": state}
        for number, (email, state) in enumerate(rows)
    ]  # fmt: skip
    lookup.add_found(records, "contactid", "emailaddress1", wanted)
    lookup.add_in_list(records, "emailaddress1", wanted)
    return lookup


@given(rows=st.lists(st.tuples(_emails, st.sampled_from([0, 1, 2])), max_size=12),
       wanted=st.sets(_emails.map(str.lower), max_size=6))  # fmt: skip
def test_the_case_dynamics_stores_an_email_in_changes_no_match(
    rows: list[tuple[str, int]], wanted: set[str]
) -> None:
    lookup = _lookup(rows, wanted)
    for spelled in (str.upper, str.lower, str.swapcase):
        again = _lookup([(spelled(email), state) for email, state in rows], wanted)
        assert (again.matches, again.in_list) == (lookup.matches, lookup.in_list)
    assert set(lookup.matches) <= wanted and lookup.in_list <= wanted
    assert sum(map(len, lookup.matches.values())) == sum(
        email.lower() in wanted for email, _ in rows
    )
