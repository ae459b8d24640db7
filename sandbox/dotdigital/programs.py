"""Programs (automation journeys) and enrolments of the sandbox account, and its marketing
preferences (a tree: categories holding preferences)."""

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
