"""The console in a real browser: Debian's chromium driven by Playwright (never a browser of
Playwright's own download), against the function app on the local host with Azurite and both
sandboxes, `acme` added through the admin API. Each screen is checked with axe-core (WCAG A)
and saved as a screenshot in .local/console-screenshots/ (gitignored: the CI artifacts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from sandbox.launch import Sandboxes
from shared.azurite import PROJECT_ROOT
from shared.localhost.host import LocalHost
from tests.api.conftest import acme_body

CHROMIUM: Final = Path("/usr/bin/chromium")
# The machine has no network: nothing may phone home, update itself or sign in to sync.
CHROMIUM_ARGS: Final = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
]
AXE: Final = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS: Final = PROJECT_ROOT / ".local" / "console-screenshots"
LEVEL_A: Final = ["wcag2a", "wcag21a"]
VIEWPORT: Final = {"width": 1280, "height": 800}
# A viewer far from UTC, so the local time beside each UTC time differs from it.
VIEWER_TIMEZONE: Final = "America/New_York"


# One browser for the console's tests, stopped after them: while Playwright's sync API is
# started, its event loop counts as running in this thread, and the other packages' tests that
# call asyncio.run() (the SFTP file drop) would fail.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make install` (axe-core from package.json)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def console_host(host: LocalHost, sandboxes: Sandboxes) -> Iterator[LocalHost]:
    """The function app's HTTP side (no timers, no worker: a test delivers the queue itself),
    with `acme` added through the admin API as an operator would."""
    base = host.serve_http()
    try:
        answer = httpx.post(f"{base}/api/admin/accounts", json=acme_body(sandboxes), timeout=30)
        assert answer.status_code == 201, answer.text
        yield host
    finally:
        host.stop()


@pytest.fixture
def page(browser: Browser, console_host: LocalHost) -> Iterator[Page]:
    context = browser.new_context(
        base_url=f"{console_host.base_url}/api/console/",
        viewport=VIEWPORT,  # type: ignore[arg-type]
        timezone_id=VIEWER_TIMEZONE,
        locale="en-GB",
        bypass_csp=True,  # axe is injected as an inline script, which the console's CSP refuses
    )
    context.set_default_timeout(10_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def checked(page: Page, name: str) -> None:
    """No WCAG level A violation on the page as it is now, no sideways scrolling at 1280 px,
    and a screenshot of it."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target)}))",
        LEVEL_A,
    )
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert not found, f"{name}: " + json.dumps(found, indent=1)
    # Readable at 1280 px: nothing makes the page scroll sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"{name} is {width} px wide"
