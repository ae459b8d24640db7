"""A few people on both sides for `make demo`: contacts and leads in Dataverse and the same
emails in Dotdigital, some suppressed and with different opt-in types, so the demo's
SuppressionLists and ContactOptIn runs have something to show."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.state import DotdigitalState


@dataclass(frozen=True)
class DemoPerson:
    email: str
    table: str  # contact or lead in Dataverse
    status: str  # in Dotdigital: Subscribed, or the suppression's reason
    opt_in_type: str


PEOPLE = (
    DemoPerson("ada.lovelace@example.com", "contact", "Subscribed", "VerifiedDouble"),
    DemoPerson("grace.hopper@example.com", "contact", "HardBounced", "Double"),
    DemoPerson("alan.turing@example.com", "lead", "Unsubscribed", "Single"),
    DemoPerson("katherine.johnson@example.com", "contact", "Subscribed", "Double"),
)


def seed_demo_people(dataverse: DataverseState, dotdigital: DotdigitalState) -> tuple[str, ...]:
    """Adds the people (once per sandbox start); returns the Dataverse record ids."""
    ids = []
    for person in PEOPLE:
        first, last = person.email.split("@")[0].split(".")
        ids.append(
            dataverse.insert(
                person.table,
                {
                    "firstname": first.title(),
                    "lastname": last.title(),
                    "emailaddress1": person.email,
                },
            )
        )
        with dotdigital.lock:
            contact = dotdigital.store.by_email(person.email) or dotdigital.store.add_contact(
                person.email, when=dotdigital.now(), opt_in_type=person.opt_in_type
            )
            if person.status != "Subscribed":
                dotdigital.store.suppress(contact, person.status, dotdigital.now())
    return tuple(ids)


DEMO_LIST = "Demo newsletter"


def seed_demo_list(dataverse: DataverseState, ids: tuple[str, ...], account_id: str) -> str:
    """A static marketing list of the demo's contacts, email-activated for `account_id`, so
    MarketingListsDataOut has an address book to fill and the webhook step something to edit."""
    list_id = dataverse.insert(
        "list",
        {
            "listname": DEMO_LIST,
            "type": False,  # static
            "createdfromcode": 2,  # contacts
            "dms_emailaccountid": account_id,
            "dms_emailactivated": True,
            "dms_membershipaction": 1,
        },
    )
    for person, record_id in zip(PEOPLE, ids, strict=True):
        if person.table == "contact":
            dataverse.add_list_member(list_id, record_id)
    return list_id
