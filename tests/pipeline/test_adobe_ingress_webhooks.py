"""A Dynamics change on a table an Adobe Campaign account maps starts that account's ingress
run (a Webhook run, coalesced like the others); a change of a column nothing reads, or of a
table nobody maps, starts nothing. Azurite, the local host, the Dataverse and ACS sandboxes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sandbox.adobe.state import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.webhook_events import RecordOutcome, record_event
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.storage.webhook_registrations import WebhookRegistration
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent
from tests.fixtures.runtime import ManualClock
from tests.pipeline.adobe_ingress_world import (
    add_cards,
    card_mapping,
    configure,
    contact,
    profile_mapping,
    profiles,
)
from tests.pipeline.helpers import EVERY_5, run_scheduled

PROFILES = SyncType.PROFILE_INGRESS
CUSTOM = SyncType.CUSTOM_ENTITY_INGRESS
PERSON = "5f0c1d2e-0000-4000-8000-00000000beef"  # a CRM user, not the connector
REGISTRATION = WebhookRegistration(
    organization_id="0c0ffee0-0000-4000-8000-000000000001",
    organization_domain="org.example.invalid",
    connector_user_id="0c0ffee0-0000-4000-8000-0000000000aa",
    registered=datetime(2026, 11, 1, tzinfo=UTC),
)


def _event(rt: Runtime, message: str, entity: str, record_id: str, **values: Any) -> ChangeEvent:
    now = rt.clock()
    return ChangeEvent(
        organization_id=REGISTRATION.organization_id,
        organization_domain=REGISTRATION.organization_domain,
        correlation_id=str(uuid.uuid4()),
        message=message,
        entity=entity,
        record_id=record_id,
        version=str(int(now.timestamp() * 1000)),
        operation_created=now,
        user_id=PERSON,
        initiating_user_id=PERSON,
        depth=1,
        attributes=values,
    )


def test_a_contact_edit_starts_the_accounts_profile_ingress_which_sends_it(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    configure(sync_runtime, profile_mapping())
    ada = contact(dv, "Ada", "Lovelace")
    run_scheduled(sync_runtime, host, clock, "globex", PROFILES)
    sync_runtime.settings.webhook_coalesce_seconds = 0  # the local queue's delay, not tested here

    dv.update("contact", ada, {"lastname": "King"})
    event = _event(sync_runtime, "Update", "contact", ada, contactid=ada, lastname="King")
    assert record_event(sync_runtime, event, REGISTRATION) is RecordOutcome.RECORDED

    assert sync_runtime.schedules.get("globex", PROFILES).status is ScheduleStatus.QUEUED
    assert sync_runtime.schedules.get("globex", CUSTOM).status is ScheduleStatus.NONE
    clock.advance(seconds=10)  # the coalescing window passes
    host.drain()
    assert profiles(acs)[ada]["lastName"] == "King"
    [run] = [r for r in sync_runtime.audit.recent("globex", sync_type=PROFILES)
             if r.trigger == "Webhook"]  # fmt: skip
    assert run.status is AuditStatus.COMPLETED and run.counts.updated == 1
    assert sync_runtime.webhook_targets.pending("globex", PROFILES) == []


def test_a_new_card_starts_custom_entity_ingress_and_unread_columns_start_nothing(
    sync_runtime: Runtime, globex: EmailAccount, dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    add_cards(acs)
    configure(sync_runtime, profile_mapping(), card_mapping())
    for sync_type in (PROFILES, CUSTOM):
        admin.set_schedule(sync_runtime, "globex", sync_type, EVERY_5)
    ada = contact(dv, "Ada", "Lovelace")

    quiet = _event(sync_runtime, "Update", "contact", ada, contactid=ada, telephone1="555")
    assert record_event(sync_runtime, quiet, REGISTRATION) is RecordOutcome.NOT_SYNCED
    unmapped = _event(sync_runtime, "Create", "lead", str(uuid.uuid4()), lastname="X")
    assert record_event(sync_runtime, unmapped, REGISTRATION) is RecordOutcome.NOT_SYNCED
    card = dv.insert("new_loyaltycard", {"new_name": "C-1"})
    created = _event(sync_runtime, "Create", "new_loyaltycard", card, new_name="C-1")
    assert record_event(sync_runtime, created, REGISTRATION) is RecordOutcome.RECORDED

    assert sync_runtime.schedules.get("globex", CUSTOM).status is ScheduleStatus.QUEUED
    assert sync_runtime.schedules.get("globex", PROFILES).status is ScheduleStatus.NONE
