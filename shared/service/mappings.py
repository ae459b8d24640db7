"""Data mappings between CRM fields and data labels: list, add (checked against the stored CRM
metadata and labels), delete."""

from __future__ import annotations

from pydantic import BaseModel

from shared.errors import BadInputError, NotFoundError
from shared.mappings.model import EMAIL_LABEL, DataMapping, MappedEntity
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.data_labels_repo import label_key


class MappingNotFound(NotFoundError):
    pass


class MappingDeleted(BaseModel):
    mapping: DataMapping
    message: str


def list_mappings(rt: Runtime, account_id: str) -> list[DataMapping]:
    admin.require_account(rt, account_id)
    mappings = rt.mappings.for_account(account_id)
    return sorted(mappings, key=lambda m: (m.entity.value, m.label != EMAIL_LABEL, m.label))


def add_mapping(rt: Runtime, account_id: str, mapping: DataMapping) -> DataMapping:
    admin.add_mapping(rt, account_id, mapping)
    return mapping


def delete_mapping(
    rt: Runtime, account_id: str, label: str, entity: MappedEntity
) -> MappingDeleted:
    admin.require_account(rt, account_id)
    found = next(
        (
            m
            for m in rt.mappings.for_account(account_id)
            if m.entity is entity and label_key(m.label) == label_key(label)
        ),
        None,
    )
    if found is None:
        raise MappingNotFound(
            f"No {entity.value} mapping for the label '{label}' in account '{account_id}' "
            f"(see `mappings list {account_id}`)."
        )
    if found.label == EMAIL_LABEL:
        raise BadInputError(
            f"The {EMAIL_LABEL} mapping tells the sync which {entity.value} column holds the "
            "email address: it cannot be deleted (add another mapping for the label instead)."
        )
    rt.mappings.delete(account_id, found.entity, found.label)
    return MappingDeleted(
        mapping=found, message=f"Deleted {found.describe}; it no longer applies from the next sync."
    )
