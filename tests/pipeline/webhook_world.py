"""A small connected world for webhook tests: one account with an email-activated contact list
and a lead list already pushed once, and ChangeEvents built the way the endpoint builds them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.dataverse.metadata_model import who_am_i_ids
from sandbox.dotdigital.state import DataFieldRecord
from shared.audit import AuditRecord
from shared.localhost.host import LocalHost
from shared.mappings.model import DataMapping, MappedEntity, default_mappings
from shared.pipeline import admin
from shared.pipeline.webhook_events import RecordOutcome, record_event
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.storage.webhook_registrations import WebhookRegistration
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent, EntityRef
from tests.fixtures.crm_fields import marketing_crm_fields
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import EVERY_5, latest, run_scheduled

OUT = SyncType.MARKETING_LISTS_DATA_OUT
PERSON = "5f0c1d2e-0000-4000-8000-00000000beef"  # a CRM user's systemuserid (not the connector)
ROLE_DEFAULT = "Valued customer"


@dataclass
class WebhookWorld:
    rt: Runtime
    host: LocalHost
    clock: ManualClock
    dv: DataverseSandbox
    dd: DotdigitalSandbox
    lists: dict[str, str]
    registration: WebhookRegistration

    # Dynamics side ----------------------------------------------------------------------------
    def activate(self, name: str) -> str:
        list_id = self.lists[name]
        self.dv.state.update(
            "list",
            list_id,
            {"dms_emailaccountid": "acme", "dms_emailactivated": True, "dms_membershipaction": 1},
        )
        return list_id

    def members(self, name: str) -> list[dict[str, Any]]:
        state = self.dv.state
        rows = [state.row("contact", m) for m in sorted(state.list_members(self.lists[name]))]
        return [r for r in rows if r and r["statecode"] == 0 and r.get("emailaddress1")]

    def book(self, name: str) -> dict[str, dict[str, Any]]:
        store = self.dd.state.store
        book = store.book_named(name)
        assert book is not None, f"no address book {name!r}"
        return {(store.contacts[i].email or ""): dict(store.contacts[i].data) for i in book.members}

    # Events -----------------------------------------------------------------------------------
    def event(
        self,
        message: str,
        entity: str,
        record_id: str,
        attributes: dict[str, Any] | None = None,
        *,
        user: str = PERSON,
        relationship: str = "",
        related: tuple[EntityRef, ...] = (),
        correlation: str | None = None,
        version: str | None = None,
    ) -> ChangeEvent:
        now: datetime = self.clock()
        return ChangeEvent(
            organization_id=self.registration.organization_id,
            organization_domain=self.registration.organization_domain,
            correlation_id=correlation or str(uuid.uuid4()),
            message=message,
            entity=entity,
            record_id=record_id.lower(),
            version=version or str(int(now.timestamp() * 1000)),
            operation_created=now,
            user_id=user,
            initiating_user_id=user,
            depth=1,
            attributes=attributes or {},
            relationship=relationship,
            related=related,
        )

    def post(self, event: ChangeEvent) -> RecordOutcome:
        return record_event(self.rt, event, self.registration)

    def edit_contact(self, contact_id: str, **values: Any) -> RecordOutcome:
        """A person edits a contact in Dynamics; the webhook reports it."""
        self.dv.state.update("contact", contact_id, values)
        return self.post(
            self.event("Update", "contact", contact_id, {"contactid": contact_id, **values})
        )

    # The connector ----------------------------------------------------------------------------
    def run_scheduled(self) -> AuditRecord:
        return run_scheduled(self.rt, self.host, self.clock, "acme", OUT)

    def latest(self, sync_type: SyncType = OUT) -> AuditRecord:
        return latest(self.rt, "acme", sync_type)

    def runs(self, sync_type: SyncType = OUT) -> list[AuditRecord]:
        return self.rt.audit.recent("acme", sync_type=sync_type, limit=50)

    def process(self) -> int:
        """Let the coalescing window pass, then deliver what is queued."""
        self.clock.advance(seconds=10)
        return self.host.drain()


def build_world(
    rt: Runtime, host: LocalHost, clock: ManualClock, dv: DataverseSandbox, dd: DotdigitalSandbox
) -> WebhookWorld:
    seeded = dv.state.seed_data(
        contacts=60, leads=30, lists=[("Newsletter", "contact", 40), ("Prospects", "lead", 20)]
    )
    for name in ("FIRSTNAME", "LASTNAME", "FULLNAME"):
        rt.data_labels.save("acme", DataLabel(name=name, origin=LabelOrigin.PLATFORM,
                                              is_synchronised=True))  # fmt: skip
    rt.data_labels.save(
        "acme",
        DataLabel(name="JOBROLE", default_value=ROLE_DEFAULT, origin=LabelOrigin.PLATFORM,
                  is_synchronised=True),
    )  # fmt: skip
    dd.state.data_fields.append(DataFieldRecord("JOBROLE", "String"))
    for mapping in default_mappings():
        rt.mappings.create("acme", mapping)
    rt.crm_fields.upsert("acme", marketing_crm_fields())
    admin.add_mapping(
        rt,
        "acme",
        DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT, primary_field="jobtitle"),
    )
    assert rt.settings.dataverse_client_id is not None
    ids = who_am_i_ids(dv.state, rt.settings.dataverse_client_id)
    registration = WebhookRegistration(
        organization_id=ids["OrganizationId"],
        organization_domain="127.0.0.1",
        connector_user_id=ids["UserId"],
        registered=clock(),
    )
    rt.webhook_registrations.save(registration)
    # The manual clock stands for the coalescing window (`process()` moves it on); the local
    # queue's real delay would only slow the tests down.
    rt.settings.webhook_coalesce_seconds = 0
    world = WebhookWorld(rt, host, clock, dv, dd, seeded.lists, registration)
    admin.set_schedule(rt, "acme", OUT, EVERY_5)
    return world
