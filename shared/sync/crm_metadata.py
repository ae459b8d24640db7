"""CrmMetadata: refresh the mappable fields of contact, lead and account from Dataverse."""

from __future__ import annotations

from shared.audit import Counts
from shared.clients.dataverse.metadata import LOOKUP_TYPES
from shared.storage.crm_fields_repo import CrmField
from shared.sync.base import PAUSED, Paused, SyncContext, SyncHandler, SyncResult
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


class CrmMetadataSync(SyncHandler):
    sync_type = SyncType.CRM_METADATA

    def run(self, ctx: SyncContext) -> SyncResult | Paused:
        dataverse = ctx.services.dataverse()
        repo = ctx.services.crm_fields
        done: list[str] = list(ctx.cursor.get("done", []))
        for entity in ENTITIES:
            if entity in done:
                continue
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
            stored = {f.logical_name: f for f in repo.for_account(ctx.account.account_id, entity)}
            changed = [f for name, f in fields.items() if stored.get(name) != f]
            removed = [f for name, f in stored.items() if name not in fields]
            repo.upsert(ctx.account.account_id, changed)
            repo.delete(ctx.account.account_id, removed)
            ctx.counts += Counts(
                read=len(attributes),
                created=sum(1 for f in changed if f.logical_name not in stored),
                updated=sum(1 for f in changed if f.logical_name in stored),
                deleted=len(removed),
            )
            done.append(entity)
            ctx.checkpoint({"done": done})
            if ctx.out_of_time() and len(done) < len(ENTITIES):
                return PAUSED
        total = len(repo.for_account(ctx.account.account_id))
        return SyncResult(message=f"{total} mappable CRM fields for {', '.join(ENTITIES)}")
