"""The demo's webhook step: register the webhook against the local host's URL, change a contact
in Dynamics as a CRM user would, and show the change arriving in its address book."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console

from shared.cli import views
from shared.localhost.host import LocalHost
from shared.pipeline.webhook_registration import register
from shared.runtime import Runtime
from shared.sync_types import SyncType

if TYPE_CHECKING:  # the sandboxes load only when the demo runs
    from sandbox.dataverse.state import DataverseState
    from sandbox.dotdigital.state import DotdigitalState

# What the local endpoint expects in `?code=`; a label, not a secret (the demo's key only).
DEMO_WEBHOOK_KEY = "demo-webhook-key"
NEW_FIRST_NAME = "Augusta Ada"
WAIT_SECONDS = 60.0


def _first_name_in_book(dotdigital: DotdigitalState, book_name: str, email: str) -> str | None:
    with dotdigital.lock:
        store = dotdigital.store
        book = store.book_named(book_name)
        contact = store.by_email(email)
        if book is None or contact is None or contact.id not in book.members:
            return None
        return str(contact.data.get("FIRSTNAME") or "")


def show_webhook(
    console: Console,
    rt: Runtime,
    host: LocalHost,
    sandboxes: tuple[DataverseState, DotdigitalState],
    *,
    account_id: str,
    contact: tuple[str, str],
    book_name: str,
) -> bool:
    """Register, edit `contact` (id, email) in Dynamics, wait for the book; True if it arrived."""
    dataverse, dotdigital = sandboxes
    contact_id, email = contact
    url = f"{host.base_url}/api/dynamics/webhook"
    outcome = register(rt, url)
    console.print(f"\nWebhook: {outcome.summary}")
    since: datetime = rt.clock()
    started = time.monotonic()
    dataverse.update("contact", contact_id, {"firstname": NEW_FIRST_NAME})
    console.print(
        f"A CRM user changes {email}'s first name to {NEW_FIRST_NAME!r} in Dynamics; "
        f"Dynamics posts the change to {url} ..."
    )
    arrived = False
    while time.monotonic() - started < WAIT_SECONDS and not arrived:
        time.sleep(0.25)
        arrived = _first_name_in_book(dotdigital, book_name, email) == NEW_FIRST_NAME
    runs = rt.audit.recent(account_id, sync_type=SyncType.MARKETING_LISTS_DATA_OUT, since=since)
    console.print(views.audit_table([r for r in runs if r.trigger == "Webhook"], "Webhook runs"))
    if arrived:
        console.print(
            f"The change reached the address book {book_name!r} in "
            f"{time.monotonic() - started:.1f} s: FIRSTNAME = {NEW_FIRST_NAME!r}."
        )
    return arrived
