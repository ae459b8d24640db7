"""What MarketingListsDataIn looks at: which linked lists, and which of their mapped fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

from shared.audit import Messages
from shared.clients.dataverse.lists import MarketingList
from shared.mappings.model import DataMapping, MappedEntity
from shared.storage.data_labels_repo import DataLabel, label_key
from shared.sync.marketing_lists.data_in_merge import InboundField
from shared.sync.marketing_lists.data_in_values import writable
from shared.sync.marketing_lists.values import inbound


class Skip(Enum):
    """A linked list that is not synced now, for no fault of anyone's (no audit row)."""

    NOT_SYNCED = "not email-activated or inactive"


def list_problem(marketing_list: MarketingList | None, account_id: str) -> str | Skip | None:
    """None if the list is synced by this account; a product message if it cannot be; Skip
    if it is simply not synced now."""
    if marketing_list is None:
        return Messages.LIST_NULL
    owner = (marketing_list.email_account_id or "").strip()
    if owner.lower() != account_id.lower():
        return Messages.LIST_ACCOUNT_MISMATCH
    if not marketing_list.email_activated or not marketing_list.active:
        return Skip.NOT_SYNCED
    return None


def inbound_fields(
    mappings: Iterable[DataMapping],
    entity: MappedEntity,
    labels: Mapping[str, DataLabel],
    column_types: Mapping[str, str],
) -> list[InboundField]:
    """Mappings written back to `entity`: direction ToDynamics or Both, never the email, never
    a linked field (it belongs to another record), only to a column that takes a plain value,
    and only for labels the platform has (asking Dotdigital for an unknown data field fails
    the whole read). `labels` is keyed by `label_key`, `column_types` by column name."""
    fields: list[InboundField] = []
    for mapping in inbound(mappings, entity):
        if mapping.linked_field:
            continue
        label = labels.get(label_key(mapping.label))
        if label is None or not label.is_synchronised:
            continue
        attribute_type = column_types.get(mapping.primary_field, "")
        if not writable(attribute_type):
            continue
        fields.append(InboundField(mapping, label, attribute_type))
    return fields
