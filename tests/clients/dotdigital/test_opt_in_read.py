"""The read ContactOptIn makes: v3 contacts modified since a moment, with their email channel's
opt-in type, marker-paged; every exchange validated against Dotdigital's OpenAPI files."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clients import DotdigitalClient
from shared.clients.dotdigital.imports import ImportContact
from tests.fixtures.sandboxes import DotdigitalSandbox


def test_contacts_changed_since_a_moment_come_with_their_opt_in_type_page_by_page(
    dotdigital_sandbox: DotdigitalSandbox, validated_dotdigital_client: DotdigitalClient
) -> None:
    state = dotdigital_sandbox.state
    client = validated_dotdigital_client
    with state.lock:
        for n in range(5):
            state.store.add_contact(f"opt{n}@example.com", when=state.now() - 3600)
    since = datetime.fromtimestamp(state.now() - 60, UTC)  # after they were last changed
    client.import_contacts(
        [
            ImportContact(email="opt1@example.com", opt_in_type="verifiedDouble"),
            ImportContact(email="opt3@example.com", opt_in_type="double"),
            ImportContact(email="opt9@example.com", opt_in_type="single"),  # a new contact
        ],
        poll_interval_seconds=1,
    )

    read = client.iter_contacts(modified_since=since, include=("channelProperties",), limit=2)
    pages = list(read.pages())

    changed = {c.email: c.opt_in_type for page in pages for c in page.items}
    assert changed == {
        "opt1@example.com": "VerifiedDouble",
        "opt3@example.com": "Double",
        "opt9@example.com": "Single",
    }
    assert [len(p.items) for p in pages] == [2, 1]
    everyone = list(client.iter_contacts(include=("channelProperties",), limit=5000))
    assert len(everyone) == 6 and all(c.opt_in_type for c in everyone)
