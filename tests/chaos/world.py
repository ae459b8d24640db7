"""A chaos world: fresh tables on Azurite, reset sandboxes, an account whose email-activated
marketing list of N contacts goes to a new address book, and a way to build a fresh Runtime
(a new worker process: new clients, token caches and connection pools) on the same settings."""

from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dotdigital.state import DataFieldRecord
from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.azurite import AzuriteProcess
from shared.clients.retry import RetryPolicy
from shared.dynamics_schema import MembershipAction
from shared.engine import SyncTypeTemplate
from shared.mappings.model import DataMapping, MappedEntity, default_mappings
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.settings import QueueBackend, Settings
from shared.storage.data_labels_repo import DataLabel, LabelOrigin
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from shared.sync.marketing_lists.two_way import TwoWayMarketingLists
from shared.sync_types import SyncType
from tests.fixtures.crm_fields import marketing_crm_fields
from tests.fixtures.runtime import ManualClock

OUT = SyncType.MARKETING_LISTS_DATA_OUT
LIST_NAME = "Newsletter"
ROLE_DEFAULT = "Valued customer"
COMPANY_DEFAULT = "Independent"
PASSWORD_SETTING = "CHAOS_DOTDIGITAL_PASSWORD"
SANDBOX_START = 1_795_000_000.0  # 2026-11-18, in whole seconds

# Scaled down so that waits cost nothing real: retries wait in sandbox time (recorded, never
# slept), and a retried run continues at once instead of 300 s later.
CHAOS_SETTINGS = {
    "HTTP_MAX_RETRIES": "4",
    "HTTP_MAX_WAIT_SECONDS": "5",
    "HTTP_TIMEOUT_SECONDS": "10",
    "RUN_RETRY_DELAY_SECONDS": "0",
    "CONTINUATION_DELAY_SECONDS": "0",
}


@dataclass(frozen=True)
class WorldSpec:
    members: int = 3000  # the marketing list's contacts
    page_size: int = 1000  # members per Dataverse page and per import round: three rounds
    settings: dict[str, str] = field(default_factory=dict)  # on top of CHAOS_SETTINGS


@dataclass
class ChaosWorld:
    spec: WorldSpec
    settings: Settings
    sandboxes: Sandboxes
    clock: ManualClock  # the connector's time (leases, schedules, audit)
    sandbox_clock: SandboxClock  # the APIs' time and the retry policy's waits
    list_id: str
    account_id: str = "acme"
    runtimes: int = 0
    types: tuple[SyncTypeTemplate[Any], ...] = ()  # other sync types' test instances (sizes)
    lacks: tuple[SyncType, ...] = ()  # types left out: a version that does not have them

    def runtime(self) -> Runtime:
        """A fresh worker process's Runtime: nothing cached from an earlier one."""
        self.runtimes += 1
        retry = RetryPolicy.from_settings(
            self.settings,
            sleep=self.sandbox_clock.sleep,
            clock=self.sandbox_clock.now,
            rng=random.Random(self.runtimes),
        )
        rt = Runtime(self.settings, clock=self.clock, retry=retry)
        rt.registry = (
            catalogue()
            .replaced(
                TwoWayMarketingLists(
                    data_out=MarketingListsDataOut(
                        page_size=self.spec.page_size, flush_at=self.spec.page_size
                    )
                ),
                *self.types,
            )
            .without(*self.lacks)
        )
        return rt

    def expected_emails(self) -> set[str]:
        """The list's active members with an email: who the address book must hold."""
        state = self.sandboxes.dataverse
        rows = (state.row("contact", m) for m in state.list_members(self.list_id))
        return {
            r["emailaddress1"] for r in rows if r and r["statecode"] == 0 and r.get("emailaddress1")
        }


def build_world(
    azurite: AzuriteProcess, sandboxes: Sandboxes, spec: WorldSpec, *, account_id: str = "acme"
) -> ChaosWorld:
    """Reset both sandboxes, seed Dataverse, provision the account on fresh tables."""
    clock = ManualClock()
    sandbox_clock = SandboxClock(start=SANDBOX_START)  # fixed: rows compare across worlds
    sandboxes.dataverse.reset(clock=sandbox_clock.now)
    sandboxes.dotdigital.reset(clock=sandbox_clock.now)
    # Real Dotdigital applies an import on its own: a lost answer or a kill does not stop it.
    sandboxes.dotdigital.apply_imports_without_polling = True
    os.environ[PASSWORD_SETTING] = sandboxes.credentials.api_password
    settings = Settings(
        AzureWebJobsStorage=azurite.connection_string,
        SYNC_QUEUE_BACKEND=QueueBackend.STORAGE_QUEUE.value,
        SYNC_QUEUE_NAME=f"chaos-{uuid.uuid4().hex[:12]}",
        TABLE_PREFIX=f"c{uuid.uuid4().hex[:10]}",
        **{**sandboxes.settings_env(), **CHAOS_SETTINGS, **spec.settings},
    )
    seeded = sandboxes.dataverse.seed_data(
        contacts=spec.members + spec.members // 10,
        accounts=max(spec.members // 20, 5),
        lists=[(LIST_NAME, "contact", spec.members)],
    )
    world = ChaosWorld(
        spec, settings, sandboxes, clock, sandbox_clock, seeded.lists[LIST_NAME], account_id
    )
    provision(world, account_id, activate=True)
    return world


def provision(world: ChaosWorld, account_id: str, *, activate: bool) -> None:
    """The account, its labels and mappings as a DataLabels and a CrmMetadata sync leave
    them; the list email-activated for it."""
    rt = world.runtime()
    rt.accounts.save(
        EmailAccount(
            account_id=account_id,
            name=f"{account_id.title()} newsletters",
            api_user=world.sandboxes.credentials.api_user,
            api_password_secret_name=PASSWORD_SETTING,
        )
    )
    fields = world.sandboxes.dotdigital.data_fields
    for name in ("COMPANY", "JOBROLE"):
        if all(f.name != name for f in fields):
            fields.append(DataFieldRecord(name, "String"))
    defaults = {"COMPANY": COMPANY_DEFAULT, "JOBROLE": ROLE_DEFAULT}
    for name in ("FIRSTNAME", "LASTNAME", "FULLNAME", "COMPANY", "JOBROLE"):
        rt.data_labels.save(
            account_id,
            DataLabel(
                name=name,
                default_value=defaults.get(name),
                origin=LabelOrigin.PLATFORM,
                is_synchronised=True,
            ),
        )
    rt.crm_fields.upsert(account_id, marketing_crm_fields())
    for mapping in default_mappings():
        rt.mappings.create(account_id, mapping)
    for mapping in (
        DataMapping(label="JOBROLE", entity=MappedEntity.CONTACT, primary_field="jobtitle"),
        DataMapping(
            label="COMPANY",
            entity=MappedEntity.CONTACT,
            primary_field="parentcustomerid",
            linked_entity="account",
            linked_field="name",
        ),
    ):
        admin.add_mapping(rt, account_id, mapping)
    if activate:
        world.sandboxes.dataverse.update(
            "list",
            world.list_id,
            {
                "dms_emailaccountid": account_id,
                "dms_emailactivated": True,
                "dms_membershipaction": int(MembershipAction.IGNORE_UNLISTED),
            },
        )


def book_members(world: ChaosWorld, name: str = LIST_NAME) -> dict[str, dict[str, Any]]:
    """The address book's members: email -> data fields ({} if there is no such book)."""
    store = world.sandboxes.dotdigital.store
    book = store.book_named(name)
    if book is None:
        return {}
    return {(store.contacts[i].email or ""): dict(store.contacts[i].data) for i in book.members}
