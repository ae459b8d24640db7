"""The sandbox's equality index (email lookups: `col eq 'a' or col eq 'b' ...`) answers exactly
what a full scan answers, sees every write, and leaves other filters to the scan."""

from __future__ import annotations

from sandbox.dataverse.equality_index import equality_terms
from sandbox.dataverse.state import DataverseState
from shared.clients.dataverse.client import DataverseClient
from tests.fixtures.sandboxes import DataverseSandbox


def _emails(client: DataverseClient, where: str) -> list[str]:
    rows = client.iter_records("contacts", ["contactid", "emailaddress1"], filter=where)
    return sorted(str(r["emailaddress1"]).lower() for r in rows)


def test_a_chain_of_equalities_finds_what_a_scan_finds_and_sees_writes(
    dataverse_client: DataverseClient, dataverse_sandbox: DataverseSandbox
) -> None:
    state: DataverseState = dataverse_sandbox.state
    for n in range(120):
        state.insert("contact", {"lastname": f"P{n}", "emailaddress1": f"P{n}@Example.com",
                                 "statecode": n % 2})  # fmt: skip
    wanted = ["p3@example.com", "P7@EXAMPLE.com", "o'brien@example.ie", "p118@example.com"]
    chain = " or ".join(f"emailaddress1 eq '{e.replace(chr(39), chr(39) * 2)}'" for e in wanted)

    found = ["p118@example.com", "p3@example.com", "p7@example.com"]
    assert _emails(dataverse_client, chain) == found
    assert _emails(dataverse_client, f"statecode eq 1 and ({chain})") == found[1:]
    state.insert("contact", {"lastname": "O'Brien", "emailaddress1": "O'Brien@example.ie"})
    assert "o'brien@example.ie" in _emails(dataverse_client, chain)
    # Not a single column's chain: the scan answers.
    assert _emails(dataverse_client, "emailaddress1 eq 'p1@example.com' or statecode eq 5") == [
        "p1@example.com"
    ]


def test_only_a_top_level_chain_of_one_column_is_taken() -> None:
    assert equality_terms("a eq 'x' or a eq 'y'") == ("a", {"x", "y"})
    assert equality_terms("(s eq 1 or s eq null) and (a eq 'X' or a eq 'it''s')") == (
        "a", {"x", "it's"}
    )  # fmt: skip
    assert equality_terms("a eq 'x' or b eq 'y'") is None
    assert equality_terms("not (a eq 'x')") is None
    assert equality_terms("a eq 'x' and b eq 'y'") == ("a", {"x"})
    assert equality_terms("(a eq 'x') or (b eq 'y')") is None
