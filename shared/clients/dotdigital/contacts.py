"""Contacts: the v3 Contacts API (seek-paged listing with filters, get by identifier) and the v2
contact shape that list, suppression and activity calls return.

v3 `GET /contacts/v3` pages with `limit` (1..5000) and `_links.next.marker`, in ascending
contact id order. Filters: `~modified=gte::<UTC>` or `~created=gte::<UTC>` (not both),
`~listId` (list membership). `data-fields` names the data fields to return (pipe-delimited;
`[[ALL]]` for all of them); `include` adds channelProperties, lists, preferences,
consentRecords.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.paging import V3_MAX_LIMIT, Paged, v3_paged
from shared.clients.dotdigital.routes import GET_CONTACT, LIST_CONTACTS
from shared.clients.dotdigital.transport import DotdigitalTransport, QueryValue
from shared.clients.dotdigital.wire import (
    as_object,
    field,
    int_field,
    parse_datetime,
    str_field,
    v3_since_filter,
)
from shared.errors import ApiError

ContactInclude = Literal["channelProperties", "lists", "preferences", "consentRecords"]
ALL_DATA_FIELDS = "[[ALL]]"


class ListContact(BaseModel):
    """A contact as v2 calls return it (`ApiContact`); data fields as name -> value."""

    model_config = ConfigDict(frozen=True)

    id: int
    email: str
    opt_in_type: str = "Unknown"
    email_type: str = "Html"
    status: str = "Subscribed"
    data_fields: dict[str, Any] = {}


def list_contact(item: Any) -> ListContact:
    item = as_object(item, "a contact")
    data: dict[str, Any] = {}
    for pair in field(item, "dataFields") or []:
        if isinstance(pair, dict) and field(pair, "key"):
            data[str(field(pair, "key"))] = field(pair, "value")
    return ListContact(
        id=int_field(item, "id"),
        email=str_field(item, "email"),
        opt_in_type=str_field(item, "optInType", "Unknown"),
        email_type=str_field(item, "emailType", "Html"),
        status=str_field(item, "status", "Subscribed"),
        data_fields=data,
    )


class ListMembership(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    status: str  # subscribed | suppressed | pending


class Contact(BaseModel):
    """A v3 contact. `email_*` come from channelProperties.email when it was included."""

    model_config = ConfigDict(frozen=True)

    contact_id: int
    status: str
    created: datetime | None = None
    updated: datetime | None = None
    identifiers: dict[str, str] = {}
    data_fields: dict[str, Any] = {}
    email_status: str | None = None
    opt_in_type: str | None = None
    email_type: str | None = None
    lists: tuple[ListMembership, ...] = ()

    @property
    def email(self) -> str | None:
        return self.identifiers.get("email")


def v3_contact(item: Any) -> Contact:
    item = as_object(item, "a contact")
    identifiers = field(item, "identifiers")
    data = field(item, "dataFields")
    channels = field(item, "channelProperties")
    email = field(channels, "email") if isinstance(channels, dict) else None
    email = email if isinstance(email, dict) else {}
    lists = []
    for membership in field(item, "lists") or []:
        if isinstance(membership, dict):
            lists.append(
                ListMembership(
                    id=int_field(membership, "id"),
                    name=str_field(membership, "name"),
                    status=str_field(membership, "status"),
                )
            )
    return Contact(
        contact_id=int_field(item, "contactId"),
        status=str_field(item, "status"),
        created=parse_datetime(field(item, "created")),
        updated=parse_datetime(field(item, "updated")),
        identifiers=(
            {str(k): str(v) for k, v in identifiers.items() if v is not None}
            if isinstance(identifiers, dict)
            else {}
        ),
        data_fields=dict(data) if isinstance(data, dict) else {},
        email_status=field(email, "status"),
        opt_in_type=field(email, "optInType"),
        email_type=field(email, "emailType"),
        lists=tuple(lists),
    )


class ContactsApi(DotdigitalTransport):
    def iter_contacts(
        self,
        *,
        modified_since: datetime | None = None,
        created_since: datetime | None = None,
        list_id: int | None = None,
        data_fields: Sequence[str] | Literal["all"] = (),
        include: Sequence[ContactInclude] = ("channelProperties", "lists"),
        limit: int = 1000,
        marker: str | None = None,
    ) -> Paged[Contact, str]:
        """Contacts (v3), ascending by contact id, optionally modified or created since a
        moment and/or in one list; from the first page, or from `marker` (a page's `resume`
        of a read with the same filters). Pages are fetched as they are consumed."""
        if modified_since is not None and created_since is not None:
            raise ValueError("Dotdigital cannot filter on ~modified and ~created together")
        if not 1 <= limit <= V3_MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {V3_MAX_LIMIT}, not {limit}")
        params: dict[str, QueryValue | None] = {"limit": limit}
        if modified_since is not None:
            params["~modified"] = v3_since_filter(modified_since)
        if created_since is not None:
            params["~created"] = v3_since_filter(created_since)
        if list_id is not None:
            params["~listId"] = list_id
        if data_fields == "all":
            params["data-fields"] = ALL_DATA_FIELDS
        elif data_fields:
            params["data-fields"] = "|".join(data_fields)
        if include:
            params["include"] = "|".join(include)

        def fetch(marker: str | None) -> dict[str, Any]:
            query = dict(params)
            query["marker"] = marker
            return as_object(self._get(LIST_CONTACTS, params=query), "a page of contacts")

        return v3_paged(fetch, v3_contact, what="contacts", marker=marker)

    def get_contact(self, identifier: str, value: str | int) -> Contact | None:
        """One contact (v3, with its data fields, channels and lists) by `email`,
        `contactId`, `mobileNumber` or a custom identifier; None if there is none."""
        try:
            body = self._get(GET_CONTACT, path={"identifier": identifier, "value": value})
        except ApiError as error:
            if error.status == 404 and error.code == "contacts:contactNotFound":
                return None
            raise
        return v3_contact(body)
