"""Marketing preferences (v2): the account's preferences and categories, and one contact's.

`GET /v2/preferences` returns a tree: categories (`isPreference: false`) holding preferences.
`GET /v2/contacts/{id}/preferences` is the same tree with `isOptedIn` on each preference.
`PUT /v2/contacts/{id}/preferences` takes `[{id, isPreference, isOptedIn}]`, preferences in a
category nested under `{id: <category>, isPreference: false, preferences: [...]}`.

Opt-ins with their dates: `GET /v2/contacts/{email}/subscriptions` (one contact, every
preference it opted in to or out of) and `GET /v2/contacts/with-preference/{id}/opt-ins-since/
{date}` (the contacts whose opt-in of one preference changed since a date, at most 1000 a call,
paged by `minContactId`). Each opt-in is `{marketingPreferenceId, addressBookId, isOptedIn,
dateModifed}`: the date field is spelled so by the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.contacts import ListContact, list_contact
from shared.clients.dotdigital.paging import ItemsPage, Paged
from shared.clients.dotdigital.routes import (
    CONTACT_PREFERENCES,
    CONTACT_SUBSCRIPTIONS,
    LIST_PREFERENCES,
    OPT_INS_SINCE,
    SET_CONTACT_PREFERENCES,
)
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    bool_field,
    field,
    int_field,
    parse_datetime,
    str_field,
    utc_text,
)
from shared.errors import ApiError

OPT_INS_PAGE = 1000  # what opt-ins-since answers at most per call


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


class OptIn(BaseModel):
    """A contact's opt-in (or opt-out) of one preference and when it last changed."""

    model_config = ConfigDict(frozen=True)

    preference_id: int
    opted_in: bool
    modified: datetime | None = None


class ContactOptIns(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact: ListContact
    opt_ins: tuple[OptIn, ...] = ()


def contact_opt_ins(item: Any) -> ContactOptIns:
    item = as_object(item, "a contact's preference opt-ins")
    contact = field(item, "contact")
    opt_ins = []
    for entry in field(item, "marketingPreferenceOptIns") or []:
        entry = as_object(entry, "a preference opt-in")
        opt_ins.append(
            OptIn(
                preference_id=int_field(entry, "marketingPreferenceId"),
                opted_in=bool_field(entry, "isOptedIn"),
                modified=parse_datetime(field(entry, "dateModifed")),
            )
        )
    return ContactOptIns(
        contact=list_contact(contact if isinstance(contact, dict) else {}),
        opt_ins=tuple(opt_ins),
    )


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

    def contact_subscriptions(self, email: str) -> ContactOptIns | None:
        """The contact's opt-ins and opt-outs with their dates; None if there is no contact
        with this email."""
        try:
            body = self._get(CONTACT_SUBSCRIPTIONS, path={"contactEmail": email})
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return contact_opt_ins(body)

    def iter_opt_ins_since(
        self, preference_id: int, since: datetime, *, min_contact_id: int = 0
    ) -> Paged[ContactOptIns, int]:
        """Contacts whose opt-in of this preference changed since `since`, by contact id; a
        page's `resume` is the `minContactId` of the next one."""
        date = utc_text(since)

        def pages() -> Iterator[ItemsPage[Any, int]]:
            minimum = min_contact_id
            while True:
                rows = as_list(
                    self._get(
                        OPT_INS_SINCE,
                        path={"preferenceId": preference_id, "sinceDate": date},
                        params={"minContactId": minimum},
                    ),
                    "preference opt-ins",
                )
                ids = [int_field(as_object(r, "an opt-in"), "id") for r in _contacts(rows)]
                full = len(rows) >= OPT_INS_PAGE and bool(ids)
                following = max(ids) + 1 if full else None
                if following is not None and following <= minimum:
                    raise ApiError(
                        "Dotdigital returned opt-ins out of contact id order; stopping instead "
                        "of looping",
                        status=200,
                    )
                yield ItemsPage(rows, following)
                if following is None:
                    return
                minimum = following

        return Paged(pages(), contact_opt_ins)


def _contacts(rows: list[Any]) -> list[Any]:
    return [field(row, "contact") or {} for row in rows if isinstance(row, dict)]
