"""The marketing list's membership action: what happens to members only one side has."""

from __future__ import annotations

from enum import IntEnum


class MembershipAction(IntEnum):
    """The list's membership action, with the product's wording as its label."""

    IGNORE_UNLISTED = 1
    REMOVE_UNLISTED = 2
    KNOWN_CONTACTS_ONLY = 3
    KNOWN_LEADS_ONLY = 4
    KNOWN_OR_NEW_LEADS = 5

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    MembershipAction.IGNORE_UNLISTED: (
        "Ignore new and existing address book members not in this marketing list"
    ),
    MembershipAction.REMOVE_UNLISTED: ("Remove address book members not in this marketing list"),
    MembershipAction.KNOWN_CONTACTS_ONLY: (
        "Allow only known contacts to be added to this marketing list"
    ),
    MembershipAction.KNOWN_LEADS_ONLY: "Only allow known leads to be added to this marketing list",
    MembershipAction.KNOWN_OR_NEW_LEADS: (
        "Allow known leads or create new leads if no match found"
    ),
}
