"""Check a new mapping against the stored CRM metadata and the account's labels.

Every problem is reported with what to do about it; nothing is saved unless all checks pass.
It reads stored entities (CRM fields, labels), so it sits above storage with the admin service
that runs it; `shared.mappings` keeps the model, which storage itself imports.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from shared.mappings.model import (
    EMAIL_LABEL,
    DataMapping,
    DuplicateMapping,
    MappingDirection,
    MappingError,
)
from shared.storage.crm_fields_repo import CrmField
from shared.storage.data_labels_repo import DataLabel, LabelType, label_key
from shared.sync_types import SyncType

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
# Which CRM attribute types can carry each label type's values.
COMPATIBLE: dict[LabelType, frozenset[str]] = {
    LabelType.STRING: frozenset(
        {"String", "Memo", "Picklist", "State", "Status", "Uniqueidentifier", "Lookup",
         "Customer", "Owner", "Integer", "BigInt", "Decimal", "Double", "Money"}
    ),
    LabelType.NUMERIC: frozenset({"Integer", "BigInt", "Decimal", "Double", "Money"}),
    LabelType.DATE: frozenset({"DateTime"}),
    LabelType.BOOLEAN: frozenset({"Boolean"}),
}  # fmt: skip
# Types a value from Dotdigital can be written back to without a lookup or option-set match.
WRITABLE = frozenset({"String", "Memo", "Integer", "BigInt", "Decimal", "Double", "Money",
                      "DateTime", "Boolean"})  # fmt: skip


def validate_mapping(
    mapping: DataMapping,
    *,
    account_id: str,
    labels: Iterable[DataLabel],
    crm_fields: Iterable[CrmField],
    existing: Iterable[DataMapping],
) -> None:
    """`account_id` only names the commands the messages suggest."""
    metadata_sync = f"`sync-now {account_id} {SyncType.CRM_METADATA.value}`"
    fields = {(f.entity, f.logical_name): f for f in crm_fields}
    if not fields:
        raise MappingError(
            f"No CRM metadata is stored for account '{account_id}' yet: run {metadata_sync} first."
        )
    for other in existing:
        if other.entity is mapping.entity and label_key(other.label) == label_key(mapping.label):
            delete = f"mappings delete {account_id} {shlex.quote(other.label)} --entity "
            raise DuplicateMapping(
                f"This mapping already exists: {other.describe}. To change it, delete it with "
                f"`{delete}{other.entity.value}`, then add the new one."
            )

    label_type = LabelType.STRING
    if label_key(mapping.label) != EMAIL_LABEL:
        label = next((x for x in labels if label_key(x.name) == label_key(mapping.label)), None)
        if label is None:
            add = f"labels add {account_id} {shlex.quote(mapping.label)}"
            raise MappingError(
                f"There is no data label '{mapping.label}': create it first with `{add}`, or run "
                f"`sync-now {account_id} {SyncType.DATA_LABELS.value}` if it exists in Dotdigital."
            )
        label_type = label.type

    primary = _field(fields, mapping.entity.value, mapping.primary_field, metadata_sync)
    target = primary
    if mapping.linked_field is not None:
        assert mapping.linked_entity is not None
        if primary.attribute_type not in LOOKUP_TYPES:
            raise MappingError(
                f"The linked CRM field is locked: {mapping.entity.value}.{primary.logical_name} "
                f"is a {primary.attribute_type} field, not a lookup."
            )
        if primary.targets and mapping.linked_entity not in primary.targets:
            raise MappingError(
                f"{mapping.entity.value}.{primary.logical_name} looks up "
                f"{', '.join(primary.targets)}, not {mapping.linked_entity}."
            )
        if mapping.direction is not MappingDirection.TO_PLATFORM:
            raise MappingError("A linked CRM field can only be mapped To Dotdigital (ToPlatform).")
        target = _field(fields, mapping.linked_entity, mapping.linked_field, metadata_sync)

    if target.attribute_type not in COMPATIBLE[label_type]:
        raise MappingError(
            f"{target.entity}.{target.logical_name} is a {target.attribute_type} field and "
            f"cannot hold the {label_type.value} label '{mapping.label}'."
        )
    if mapping.direction.to_dynamics and target.attribute_type not in WRITABLE:
        raise MappingError(
            f"{target.entity}.{target.logical_name} ({target.attribute_type}) cannot be written "
            "from Dotdigital: map it ToPlatform only."
        )


def _field(
    fields: dict[tuple[str, str], CrmField], entity: str, name: str, metadata_sync: str
) -> CrmField:
    field = fields.get((entity, name))
    if field is None:
        raise MappingError(
            f"{entity} has no mappable field '{name}'. If it was added to Dynamics recently, "
            f"run {metadata_sync} and try again."
        )
    return field
