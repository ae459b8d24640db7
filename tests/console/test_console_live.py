"""Synchronisation Settings stay live without a reload: a run started elsewhere (the admin API
here, as the timer, a webhook or another operator would) shows on a page that was idle when it
loaded; polling pauses while the tab is hidden. The page's clock is Playwright's, so the idle
beat (10 s) is stepped over rather than waited for."""

from __future__ import annotations

import threading

import httpx
from playwright.sync_api import Page, Request, expect

from shared.localhost.host import LocalHost
from tests.console.conftest import checked
from tests.fixtures.sandboxes import DataverseSandbox

IDLE_BEAT_MS = 10_000  # console.js's IDLE_POLL_MS
ROWS = "/schedules/rows"


def set_visibility(page: Page, state: str) -> None:
    """What the browser does when the operator switches tabs (headless Chromium never does)."""
    page.evaluate(
        """(state) => {
            const hidden = {configurable: true, get: () => state};
            Object.defineProperty(document, "visibilityState", hidden);
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_run_queued_elsewhere_shows_on_a_page_idle_since_it_loaded(
    page: Page, console_host: LocalHost, dataverse_sandbox: DataverseSandbox
) -> None:
    page.clock.install()
    page.goto("accounts/acme/schedules")
    row = page.locator('tr[data-sync-type="CrmMetadata"]')
    status = row.locator('[data-live="status"]')
    expect(status).to_have_text("None")

    admin = f"{console_host.base_url}/api/admin/accounts/acme/schedules"
    queued = httpx.post(f"{admin}/CrmMetadata/sync-now", timeout=30)
    assert queued.status_code in (200, 202), queued.text
    page.clock.fast_forward(IDLE_BEAT_MS)
    expect(status).to_have_text("Added to Queue")  # no reload: the idle page polled
    checked(page, "schedules-queued-elsewhere")

    # Busy now: the page polls every second until the run has ended.
    worker = threading.Thread(target=console_host.drain)
    worker.start()
    worker.join(timeout=60)
    page.clock.fast_forward(1_000)
    expect(status).to_have_text("None")
    expect(row.locator('[data-live="result"]')).to_contain_text("Completed")


def test_polling_pauses_while_the_tab_is_hidden_and_catches_up_on_return(
    page: Page, console_host: LocalHost
) -> None:
    polls: list[str] = []

    def seen(request: Request) -> None:
        if request.url.endswith(ROWS):
            polls.append(request.url)

    page.clock.install()
    page.goto("accounts/acme/schedules")
    status = page.locator('tr[data-sync-type="CrmMetadata"] [data-live="status"]')
    expect(status).to_have_text("None")
    page.on("request", seen)
    page.clock.fast_forward(IDLE_BEAT_MS)
    page.wait_for_timeout(300)  # the poll's answer (real time; the page's clock is stepped)
    assert len(polls) == 1

    set_visibility(page, "hidden")
    queued = httpx.post(
        f"{console_host.base_url}/api/admin/accounts/acme/schedules/CrmMetadata/sync-now",
        timeout=30,
    )
    assert queued.status_code in (200, 202), queued.text
    for _ in range(6):  # a minute away
        page.clock.fast_forward(IDLE_BEAT_MS)
    page.wait_for_timeout(300)
    assert len(polls) == 1, "a hidden tab polled"
    expect(status).to_have_text("None")

    set_visibility(page, "visible")  # back: read at once, not at the next beat
    expect(status).to_have_text("Added to Queue")
    assert len(polls) == 2
