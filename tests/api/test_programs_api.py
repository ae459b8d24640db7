"""Programs access and user mappings through the admin API: problem+json refusals (inactive
program 422, unknown 404, a Dynamics user mapped twice 409) and the same settings as the CLI."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.dataverse.systemusers import SALES_USER_ID, SUPPORT_USER_ID
from tests.api.conftest import problem
from tests.fixtures.sandboxes import DotdigitalSandbox


def test_programs_are_allowed_and_an_inactive_one_is_refused(
    api: httpx.Client, acme_api: dict[str, Any], dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dd = dotdigital_sandbox.state
    active = dd.add_program("Welcome journey")
    draft = dd.add_program("Half built", status="Draft")

    refused = problem(api.put(f"/accounts/acme/programs/{draft.id}/allowed"), 422)
    assert "is Draft in Dotdigital: only active programs can be allowed" in refused["detail"]
    assert problem(api.put("/accounts/acme/programs/4242/allowed"), 404)
    allowed = api.put(f"/accounts/acme/programs/{active.id}/allowed")
    assert allowed.status_code == 200, allowed.text
    switched = api.put("/accounts/acme/programs/mapped-users-only", json={"enabled": True})
    assert switched.status_code == 200, switched.text

    view = api.get("/accounts/acme/programs").json()
    assert view["mapped_users_only"] is True
    assert [(p["name"], p["allowed"]) for p in view["programs"]] == [
        ("Welcome journey", True), ("Half built", False),
    ]  # fmt: skip
    assert api.delete(f"/accounts/acme/programs/{active.id}/allowed").status_code == 200
    assert problem(api.delete(f"/accounts/acme/programs/{active.id}/allowed"), 404)
    assert problem(api.get("/accounts/nosuch/programs"), 404)


def test_user_mappings_are_set_listed_and_removed(
    api: httpx.Client, acme_api: dict[str, Any]
) -> None:
    mapped = api.put("/accounts/acme/user-mappings/702", json={"dynamics_user_id": SALES_USER_ID})
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["dynamics_user_name"] == "Sam Sales"
    twice = api.put("/accounts/acme/user-mappings/703", json={"dynamics_user_id": SALES_USER_ID})
    assert "`users unmap acme 702`" in problem(twice, 409)["detail"]
    assert problem(api.put("/accounts/acme/user-mappings/703",
                           json={"dynamics_user_id": "not-a-guid"}), 422)  # fmt: skip
    assert problem(api.put("/accounts/acme/user-mappings/999",
                           json={"dynamics_user_id": SUPPORT_USER_ID}), 404)  # fmt: skip

    view = api.get("/accounts/acme/user-mappings").json()
    by_id = {u["id"]: u["mapped_to"] for u in view["platform_users"]}
    assert by_id[702]["id"] == SALES_USER_ID and by_id[701] is None
    assert SUPPORT_USER_ID in {u["id"] for u in view["dynamics_users"]}

    assert api.delete("/accounts/acme/user-mappings/702").status_code == 200
    assert problem(api.delete("/accounts/acme/user-mappings/702"), 404)
