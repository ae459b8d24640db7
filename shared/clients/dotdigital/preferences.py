"""Marketing preferences (v2): the account's preferences and categories, and one contact's.

`GET /v2/preferences` returns a tree: categories (`isPreference: false`) holding preferences.
`GET /v2/contacts/{id}/preferences` is the same tree with `isOptedIn` on each preference.
`PUT /v2/contacts/{id}/preferences` takes `[{id, isPreference, isOptedIn}]`, preferences in a
category nested under `{id: <category>, isPreference: false, preferences: [...]}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.routes import (
    CONTACT_PREFERENCES,
    LIST_PREFERENCES,
    SET_CONTACT_PREFERENCES,
)
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    bool_field,
    field,
    int_field,
    str_field,
)


class Preference(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    public_name: str
    private_name: str
    is_preference: bool  # False: a category
    category_id: int = 0
    is_public: bool = True
    is_opted_in: bool | None = None  # only on a contact's preferences
    preferences: tuple[Preference, ...] = ()

    def flatten(self) -> tuple[Preference, ...]:
        """This preference, or a category's preferences."""
        if self.is_preference:
            return (self,)
        return tuple(p for child in self.preferences for p in child.flatten())


def preference(item: Any) -> Preference:
    item = as_object(item, "a preference")
    opted = field(item, "isOptedIn")
    return Preference(
        id=int_field(item, "id"),
        public_name=str_field(item, "publicName"),
        private_name=str_field(item, "privateName"),
        is_preference=bool_field(item, "isPreference"),
        category_id=int_field(item, "categoryId"),
        is_public=bool_field(item, "isPublic"),
        is_opted_in=opted if isinstance(opted, bool) else None,
        preferences=tuple(preference(child) for child in field(item, "preferences") or []),
    )


class PreferenceChoice(BaseModel):
    """Opt a contact in or out of one preference; `category_id` if it sits in a category."""

    model_config = ConfigDict(frozen=True)

    preference_id: int
    opted_in: bool
    category_id: int | None = None


class PreferencesApi(DotdigitalTransport):
    def list_preferences(self) -> list[Preference]:
        return [preference(item) for item in as_list(self._get(LIST_PREFERENCES), "preferences")]

    def contact_preferences(self, contact_id: int) -> list[Preference]:
        body = self._get(CONTACT_PREFERENCES, path={"contactID": contact_id})
        return [preference(item) for item in as_list(body, "contact preferences")]

    def set_contact_preferences(self, contact_id: int, choices: Sequence[PreferenceChoice]) -> None:
        if not choices:
            raise ValueError("no preference choices to set")
        top: list[dict[str, Any]] = []
        categories: dict[int, list[dict[str, Any]]] = {}
        for choice in choices:
            item = {"id": choice.preference_id, "isPreference": True, "isOptedIn": choice.opted_in}
            if choice.category_id:
                categories.setdefault(choice.category_id, []).append(item)
            else:
                top.append(item)
        body = [
            {"id": category, "isPreference": False, "preferences": items}
            for category, items in categories.items()
        ] + top
        self._call(SET_CONTACT_PREFERENCES, path={"contactId": contact_id}, json=body)
