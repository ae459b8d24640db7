"""Programs access and User Mapping in the browser: allow an active program (a draft cannot
be), Mapped Users Only, map a platform user to a Dynamics user and unmap them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sandbox.dataverse.systemusers import SALES_USER_ID
from tests.console.conftest import checked
from tests.fixtures.sandboxes import DotdigitalSandbox


def test_an_active_program_is_allowed_and_mapped_users_only_switched(
    page: Page, dotdigital_sandbox: DotdigitalSandbox
) -> None:
    dotdigital_sandbox.state.add_program("Welcome journey")
    dotdigital_sandbox.state.add_program("Half built", status="Draft")
    page.goto("accounts/acme/programs")
    expect(page.get_by_role("button", name="Allow Half built")).to_have_count(0)  # a draft
    checked(page, "programs")
    page.get_by_role("button", name="Allow Welcome journey").click()
    expect(page.get_by_role("status")).to_contain_text("'Welcome journey'")
    expect(page.get_by_role("button", name="Disallow Welcome journey")).to_be_visible()
    page.get_by_role("button", name="Turn Mapped Users Only on").click()
    expect(page.get_by_role("button", name="Turn Mapped Users Only off")).to_be_visible()


def test_a_platform_user_is_mapped_to_a_dynamics_user_and_unmapped(page: Page) -> None:
    page.goto("accounts/acme/users")
    row = page.locator('tr[data-platform-user="702"]')
    expect(row).to_contain_text("Not mapped")
    checked(page, "users")
    row.get_by_role("combobox").select_option(SALES_USER_ID)
    row.get_by_role("button", name="Map").click()
    expect(page.get_by_role("status")).to_contain_text("to Sam Sales.")
    expect(row).to_contain_text("Sam Sales")

    # A Dynamics user maps to one platform user: the refusal names the command to run first.
    other = page.locator('tr[data-platform-user="703"]')
    other.get_by_role("combobox").select_option(SALES_USER_ID)
    other.get_by_role("button", name="Map").click()
    expect(page.get_by_role("alert")).to_contain_text("users unmap acme 702")

    row.get_by_role("button", name="Unmap").click()
    expect(row).to_contain_text("Not mapped")
