"""Programs (automation journeys) and enrolments of the sandbox account, its users (who log in
to the platform), and its marketing preferences (a tree: categories holding preferences)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class ProgramRecord:
    id: int
    name: str
    status: str = "Active"  # Draft | Deactivated | Active | ReadOnly
    date_created: float = 0.0
    enrolled: set[int] = field(default_factory=set)  # contact ids


@dataclass(eq=False)
class EnrolmentRecord:
    id: str
    program_id: int
    date_created: float
    contacts: list[int]
    address_books: list[int]
    status: str = "Processing"


@dataclass(eq=False)
class AccountUserRecord:
    """A person who logs in to the platform (not an API user): what user mapping pairs with a
    Dynamics system user."""

    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    role: str = "User"  # INFERRED: the public API documents no user resource


def default_account_users() -> dict[int, AccountUserRecord]:
    """The users a new sandbox account has (the demo maps one of them)."""
    users = (
        AccountUserRecord(701, "marketing.lead@example.com", "Morgan", "Lead", "Administrator"),
        AccountUserRecord(702, "campaign.manager@example.com", "Casey", "Manager"),
        AccountUserRecord(703, "analyst@example.com", "Alex", "Analyst"),
    )
    return {user.id: user for user in users}


@dataclass(eq=False)
class PreferenceRecord:
    id: int
    public_name: str
    private_name: str
    is_preference: bool = True
    category_id: int = 0
    order: int = 0
    is_public: bool = True
    created: float = 0.0
    last_modified: float = 0.0
    children: list[PreferenceRecord] = field(default_factory=list)
