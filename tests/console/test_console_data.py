"""Data labels and mappings (add, delete, the admin API's refusals in one line) and a
contact's engagement timeline drawn as a chart, in the browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shared.runtime import Runtime
from tests.console.conftest import checked
from tests.fixtures.crm_fields import marketing_crm_fields
from tests.fixtures.engagement_rows import Seeded


def test_a_label_and_its_mapping_are_added_then_deleted(page: Page, sync_runtime: Runtime) -> None:
    sync_runtime.crm_fields.upsert("acme", marketing_crm_fields())
    page.goto("accounts/acme/labels")
    page.get_by_label("Name").fill("JOBROLE")
    page.get_by_label("Description").fill("Job role")
    page.get_by_role("button", name="Add data label").click()
    expect(page.get_by_role("status")).to_have_text(
        "Added the data label JOBROLE: the next DataLabels sync creates it."
    )
    expect(page.get_by_role("rowheader", name="JOBROLE")).to_be_visible()
    checked(page, "labels")

    page.get_by_role("link", name="Email Data Mappings").click()
    page.get_by_label("Data label").select_option("JOBROLE")
    page.get_by_label("Entity", exact=True).select_option("contact")
    page.get_by_label("CRM field", exact=True).fill("nosuchfield")
    page.get_by_role("button", name="Add mapping").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("nosuchfield")  # the service's words, one line
    expect(page.get_by_label("CRM field", exact=True)).to_have_value("nosuchfield")

    page.get_by_label("CRM field", exact=True).fill("jobtitle")
    page.get_by_role("button", name="Add mapping").click()
    expect(page.get_by_role("status")).to_have_text(
        "Added the mapping JOBROLE <-> contact.jobtitle."
    )
    row = page.locator('tr[data-mapping="contact/JOBROLE"]')
    expect(row).to_contain_text("jobtitle")
    checked(page, "mappings")

    # A label a mapping uses stays until the mapping goes: the message says what to do first.
    page.get_by_role("link", name="Email Data Labels").click()
    page.get_by_role("button", name="Delete the data label JOBROLE").click()
    expect(page.get_by_role("alert")).to_contain_text("used by the mapping JOBROLE <-> contact")

    page.get_by_role("link", name="Email Data Mappings").click()
    page.get_by_role("button", name="Delete the mapping JOBROLE of contact").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted JOBROLE <-> contact.jobtitle")
    expect(row).to_have_count(0)


def test_a_contacts_timeline_is_a_chart_with_its_first_and_last_interaction(
    page: Page, engagement: Seeded
) -> None:
    page.goto("accounts/acme/timeline")
    expect(page.locator(".empty")).to_contain_text("Enter a contact's or lead's id")
    page.get_by_label("Record id").fill(engagement.ada)
    page.get_by_role("button", name="Show timeline").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Engagement Timeline · Ada Lovelace")
    chart = page.get_by_role("img", name="Interactions of Ada Lovelace over time")
    expect(chart.locator("circle")).to_have_count(9)
    expect(chart.locator("circle.dot-form_response")).to_have_count(1)
    expect(page.locator("dd").filter(has_text="Email sent: November news")).to_be_visible()
    expect(page.locator("dd").filter(has_text="Email sent: Black Friday")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("How did you hear of us?: A friend")
    checked(page, "timeline")

    page.get_by_label("Record id").fill(engagement.quiet)
    page.get_by_role("button", name="Show timeline").click()
    expect(page.locator(".empty")).to_contain_text("No interactions")


def test_a_contact_forms_iframe_opens_that_contacts_timeline(
    page: Page, engagement: Seeded
) -> None:
    # What Dynamics appends with "Pass record object-type code and unique identifier".
    page.goto(f"accounts/acme/timeline?type=2&typename=contact&id=%7B{engagement.ada.upper()}%7D")
    expect(page.get_by_role("heading", level=1)).to_have_text("Engagement Timeline · Ada Lovelace")
