"""Suppressions (v2): contacts suppressed, or unsubscribed, since a date.

`GET /v2/contacts/suppressed-since/{date}` (any reason: Unsubscribed, HardBounced,
IspComplained, ...) and `GET /v2/contacts/unsubscribed-since/{date}`, both select/skip paged,
each row `{suppressedContact: ApiContact, dateRemoved, reason}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clients.dotdigital.contacts import ListContact, list_contact
from shared.clients.dotdigital.paging import Paged, check_select, v2_paged
from shared.clients.dotdigital.routes import SUPPRESSED_SINCE, UNSUBSCRIBED_SINCE, Route
from shared.clients.dotdigital.transport import DotdigitalTransport
from shared.clients.dotdigital.wire import (
    as_list,
    as_object,
    field,
    parse_datetime,
    str_field,
    utc_text,
)


class Suppression(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact: ListContact
    date_removed: datetime | None
    reason: str

    @property
    def email(self) -> str:
        return self.contact.email


def suppression(item: Any) -> Suppression:
    item = as_object(item, "a suppression")
    contact = field(item, "suppressedContact")
    return Suppression(
        contact=list_contact(contact if isinstance(contact, dict) else {}),
        date_removed=parse_datetime(field(item, "dateRemoved")),
        reason=str_field(item, "reason"),
    )


class SuppressionsApi(DotdigitalTransport):
    def iter_suppressions_since(
        self, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[Suppression, int]:
        """Contacts suppressed for any reason since `since` (aware datetime)."""
        return self._suppressions(SUPPRESSED_SINCE, since, select, skip)

    def iter_unsubscribes_since(
        self, since: datetime, *, select: int = 1000, skip: int = 0
    ) -> Paged[Suppression, int]:
        """Contacts who unsubscribed from the account since `since`."""
        return self._suppressions(UNSUBSCRIBED_SINCE, since, select, skip)

    def _suppressions(
        self, route: Route, since: datetime, select: int, skip: int
    ) -> Paged[Suppression, int]:
        check_select(select)
        date = utc_text(since)

        def fetch(size: int, skip: int) -> list[Any]:
            page = self._get(route, path={"date": date}, params={"select": size, "skip": skip})
            return as_list(page, "suppressions")

        return v2_paged(fetch, suppression, select=select, what="suppressions", skip=skip)
