"""Which Dynamics marketing list is linked to which Dotdigital address book, per account."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode
from pydantic import BaseModel

from shared.runtime import Runtime
from shared.storage.entities import aware


class ListLink(BaseModel):
    list_id: str
    list_name: str
    member_type: str  # contact, lead or account
    address_book_id: int
    address_book_name: str
    origin: str  # "Dynamics" (pushed by DataOut) or "Dotdigital" (pulled by AddressBooks)
    linked_utc: datetime | None = None


def _key(list_id: str) -> str:
    return f"list_{list_id}"


def _entity(account_id: str, link: ListLink) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": account_id,
        "RowKey": _key(link.list_id),
        "ListId": link.list_id,
        "ListName": link.list_name,
        "MemberType": link.member_type,
        "AddressBookId": link.address_book_id,
        "AddressBookName": link.address_book_name,
        "Origin": link.origin,
    }
    if link.linked_utc is not None:  # left out, not blank: a date column holds only dates
        entity["LinkedUtc"] = link.linked_utc
    return entity


def _link(row: TableEntity) -> ListLink:
    return ListLink(
        list_id=row["ListId"],
        list_name=row["ListName"],
        member_type=row["MemberType"],
        address_book_id=row["AddressBookId"],
        address_book_name=row["AddressBookName"],
        origin=row["Origin"],
        linked_utc=aware(row.get("LinkedUtc")),
    )


def list_links(services: Runtime) -> ListLinkRepository:
    """The runtime's list link repository (one instance: a test's wrapper sees every call)."""
    return services.repository(ListLinkRepository)


class ListLinkRepository:
    TABLE: ClassVar[str] = "MarketingListLinks"
    WRITES: ClassVar[tuple[str, ...]] = ("save", "delete")

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def for_account(self, account_id: str) -> list[ListLink]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
        return [_link(row) for row in rows]

    def by_list(self, account_id: str, list_id: str) -> ListLink | None:
        try:
            return _link(self._table.get_entity(account_id, _key(list_id)))
        except ResourceNotFoundError:
            return None

    def by_address_book(self, account_id: str, address_book_id: int) -> ListLink | None:
        rows = self._table.query_entities(
            "PartitionKey eq @pk and AddressBookId eq @ab",
            parameters={"pk": account_id, "ab": address_book_id},
        )
        return next((_link(row) for row in rows), None)

    def save(self, account_id: str, link: ListLink) -> None:
        self._table.upsert_entity(_entity(account_id, link), mode=UpdateMode.REPLACE)

    def delete(self, account_id: str, list_id: str) -> None:
        self._table.delete_entity(account_id, _key(list_id))
