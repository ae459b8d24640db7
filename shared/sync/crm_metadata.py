"""CrmMetadata: refresh the mappable fields of contact, lead and account from Dataverse."""

from __future__ import annotations

from shared.accounts import Platform
from shared.audit import Counts
from shared.clients.dataverse.metadata import LOOKUP_TYPES
from shared.engine import (
    Cursor,
    Direction,
    Run,
    Steps,
    SyncDeclaration,
    SyncResult,
    SyncTypeTemplate,
)
from shared.storage.crm_fields_repo import CrmField
from shared.sync_types import SyncType

ENTITIES = ("contact", "lead", "account")

# Attribute types a mapping can read or write; the rest are internal (images, files,
# calendar rules, party lists, virtual columns...).
MAPPABLE_TYPES = frozenset(
    {
        "BigInt", "Boolean", "Customer", "DateTime", "Decimal", "Double", "Integer", "Lookup",
        "Memo", "Money", "Owner", "Picklist", "State", "Status", "String", "Uniqueidentifier",
    }
)  # fmt: skip


class CrmMetadataCursor(Cursor):
    done: list[str] = []  # entities refreshed so far


class CrmMetadata(SyncTypeTemplate[CrmMetadataCursor]):
    declaration = SyncDeclaration(
        SyncType.CRM_METADATA,
        frozenset(Platform),  # Dataverse only: the same for every platform
        Direction.INTO_CONNECTOR,
        summary="mappable fields of contact, lead and account -> CrmFields",
    )
    cursor_model = CrmMetadataCursor

    def start(self, run: Run[CrmMetadataCursor]) -> CrmMetadataCursor:
        return CrmMetadataCursor()

    def run(self, run: Run[CrmMetadataCursor]) -> Steps:
        dataverse = run.services.dataverse()
        repo = run.services.crm_fields
        account_id = run.account.account_id
        todo = [e for e in ENTITIES if e not in run.cursor.done]
        for entity in todo:
            attributes = dataverse.entity_attributes(entity)
            targets: dict[str, tuple[str, ...]] = {}
            if any(a.attribute_type in LOOKUP_TYPES for a in attributes):
                targets = dataverse.lookup_targets(entity)
            fields = {
                a.logical_name: CrmField(
                    entity=entity,
                    logical_name=a.logical_name,
                    display_name=a.display_name,
                    attribute_type=a.attribute_type,
                    targets=targets.get(a.logical_name, ()),
                )
                for a in attributes
                if a.attribute_type in MAPPABLE_TYPES
            }
            stored = {f.logical_name: f for f in repo.for_account(account_id, entity)}
            changed = [f for name, f in fields.items() if stored.get(name) != f]
            removed = [f for name, f in stored.items() if name not in fields]
            repo.upsert(account_id, changed)
            repo.delete(account_id, removed)
            run.counts += Counts(
                read=len(attributes),
                created=sum(1 for f in changed if f.logical_name not in stored),
                updated=sum(1 for f in changed if f.logical_name in stored),
                deleted=len(removed),
            )
            run.cursor.done.append(entity)
            if entity != todo[-1]:
                yield  # the last entity's checkpoint is the run's end
        total = len(repo.for_account(account_id))
        return SyncResult(message=f"{total} mappable CRM fields for {', '.join(ENTITIES)}")
