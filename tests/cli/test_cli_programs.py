"""`programs ...` and `users ...` as an administrator types them (Azurite, both sandboxes):
only active programs are allowed, Mapped Users Only is a switch, a mapping needs two users who
exist, and the settings read back in Table Storage one row each."""

from __future__ import annotations

import json

from sandbox.dataverse.systemusers import DISABLED_USER_ID, SALES_USER_ID, SUPPORT_USER_ID
from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.programs_repo import ProgramAccessRepository, UserMappingRepository
from tests.cli.test_cli import BAD_INPUT, CONFLICT, NOT_FOUND, error_line, invoke
from tests.fixtures.sandboxes import DotdigitalSandbox


def test_programs_are_listed_allowed_refused_when_inactive_and_disallowed(
    sync_runtime: Runtime, acme: EmailAccount, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dd = dotdigital_sandbox.state
    welcome = dd.add_program("Welcome journey")
    old = dd.add_program("Old nurture", status="Deactivated")

    code, out = invoke("programs", "list", "acme")
    assert code == 0, out
    assert "Welcome journey" in out and "Old nurture" in out and "Deactivated" in out

    code, out = invoke("programs", "allow", "acme", str(old.id))
    assert code == BAD_INPUT
    assert error_line(out) == (
        f"Error: The program 'Old nurture' ({old.id}) is Deactivated in Dotdigital: only "
        "active programs can be allowed. Activate it in Dotdigital, then run "
        f"`programs allow acme {old.id}` again."
    )
    code, out = invoke("programs", "allow", "acme", str(welcome.id))
    assert code == 0 and "'Welcome journey'" in out and "is allowed" in out, out
    code, out = invoke("programs", "allow", "acme", "4242")
    assert code == NOT_FOUND and "No program 4242" in error_line(out)

    code, out = invoke("programs", "mapped-users-only", "acme", "on")
    assert code == 0, out
    code, out = invoke("programs", "list", "acme", "--output", "json")
    assert code == 0, out
    view = json.loads(out)
    assert view["mapped_users_only"] is True
    assert {p["name"]: (p["status"], p["allowed"]) for p in view["programs"]} == {
        "Welcome journey": ("Active", True),
        "Old nurture": ("Deactivated", False),
    }
    # One row per allowed program (with its name) and one settings row, in Storage Explorer.
    table = sync_runtime.tables.client(ProgramAccessRepository.TABLE)
    rows = {r["RowKey"]: r for r in table.query_entities("PartitionKey eq 'acme'")}
    assert rows[f"program-{welcome.id}"]["Name"] == "Welcome journey"
    assert rows["settings"]["MappedUsersOnly"] is True

    code, out = invoke("programs", "disallow", "acme", str(welcome.id))
    assert code == 0 and "no longer allowed" in out, out
    code, out = invoke("programs", "disallow", "acme", str(welcome.id))
    assert code == NOT_FOUND and "is not allowed in 'acme'" in error_line(out)


def test_users_are_listed_mapped_once_each_and_unmapped(
    sync_runtime: Runtime, acme: EmailAccount
) -> None:
    code, out = invoke("users", "list", "acme")
    assert code == 0, out
    assert "marketing.lead@example.com" in out and "Sam Sales" in out

    code, out = invoke("users", "map", "acme", "701", SALES_USER_ID)
    assert code == 0 and "Mapped 'Morgan Lead' to 'Sam Sales'." in out, out
    code, out = invoke("users", "map", "acme", "702", SALES_USER_ID.upper())
    assert code == CONFLICT
    assert error_line(out) == (
        "Error: The Dynamics user 'Sam Sales' is mapped to the Dotdigital user 'Morgan Lead' "
        "already: unmap it first with `users unmap acme 701`."
    )
    code, out = invoke("users", "map", "acme", "999", SUPPORT_USER_ID)
    assert code == NOT_FOUND and "No Dotdigital user 999" in error_line(out)
    code, out = invoke("users", "map", "acme", "702", "00000000-0000-4000-8000-000000000001")
    assert code == NOT_FOUND and "No Dynamics user" in error_line(out)
    code, out = invoke("users", "map", "acme", "702", DISABLED_USER_ID)
    assert code == BAD_INPUT and "is disabled" in error_line(out)

    code, out = invoke("users", "list", "acme", "--output", "json")
    view = json.loads(out)
    mapped = {u["id"]: (u["mapped_to"] or {}).get("name") for u in view["platform_users"]}
    assert mapped == {701: "Sam Sales", 702: None, 703: None}
    [row] = sync_runtime.repository(UserMappingRepository).for_account("acme")
    assert (row.platform_user_email, row.dynamics_user_email) == (
        "marketing.lead@example.com", "sam.sales@example.com",
    )  # fmt: skip

    code, out = invoke("users", "unmap", "acme", "701")
    assert code == 0 and "Unmapped 'Morgan Lead' from 'Sam Sales'." in out, out
    code, out = invoke("users", "unmap", "acme", "701")
    assert code == NOT_FOUND and "is not mapped" in error_line(out)
    assert sync_runtime.repository(UserMappingRepository).for_account("acme") == []
