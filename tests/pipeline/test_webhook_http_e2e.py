"""A Dataverse post over HTTP, through the local host, the endpoint and the real recorder, to the
address book: the contact edit arrives; a redelivery and the connector's own write do not start
anything; a registered webhook carries a CRM edit over the whole path. Azurite, the local host
and both sandboxes."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.pipeline.webhook_registration import register
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync.marketing_lists.data_out import MarketingListsDataOut
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.webhook_helpers import KEY
from tests.pipeline.webhook_world import PERSON, WebhookWorld, build_world
from tests.webhooks import bodies


@pytest.fixture
def world(
    sync_runtime: Runtime,
    acme: EmailAccount,
    host: LocalHost,
    clock: ManualClock,
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> Iterator[WebhookWorld]:
    sync_runtime.registry = catalogue().replaced(MarketingListsDataOut())
    sync_runtime.settings.dynamics_webhook_key = SecretStr(KEY)
    world = build_world(sync_runtime, host, clock, dataverse_sandbox, dotdigital_sandbox)
    world.activate("Newsletter")
    assert world.run_scheduled().status is AuditStatus.COMPLETED
    host.serve_http()
    try:
        yield world
    finally:
        host.stop()


def _contact_update(world: WebhookWorld, contact_id: str, user: str, **values: Any) -> bytes:
    """The documented sample's shape, for this organization, contact and change."""
    body = bodies.update()
    body.pop("ParentContext")
    body["OrganizationId"] = world.registration.organization_id
    body["CorrelationId"] = str(uuid.uuid4())
    body["UserId"] = body["InitiatingUserId"] = user
    body["PrimaryEntityId"] = contact_id
    target = bodies.entity("contact", contact_id, contactid=contact_id, **values)
    target["RowVersion"] = str(uuid.uuid4().int % 10**9)
    body["InputParameters"] = [{"key": "Target", "value": target}]
    body["PostEntityImages"] = []
    return bodies.encode(body)


def _post(world: WebhookWorld, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{world.host.base_url}/api/dynamics/webhook",
        params={"code": KEY},
        headers={"x-ms-dynamics-organization": world.registration.organization_domain},
        content=body,
    )


def test_a_contact_edit_posted_over_http_reaches_the_address_book(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    world.dv.state.update("contact", member["contactid"], {"jobtitle": "Head of Webhooks"})
    body = _contact_update(world, member["contactid"], PERSON, jobtitle="Head of Webhooks")

    first, again = _post(world, body), _post(world, body)

    assert (first.status_code, first.json()["status"]) == (202, "recorded")
    assert (again.status_code, again.json()["status"]) == (202, "already recorded")
    world.process()
    assert world.book("Newsletter")[member["emailaddress1"]]["JOBROLE"] == "Head of Webhooks"
    assert [r.status for r in world.runs() if r.trigger == "Webhook"] == [AuditStatus.COMPLETED]


def test_the_connectors_own_write_is_taken_and_ignored(world: WebhookWorld) -> None:
    member = world.members("Newsletter")[0]
    connector = world.registration.connector_user_id
    body = _contact_update(world, member["contactid"], connector, jobtitle="Written by us")

    answer = _post(world, body)

    assert (answer.status_code, answer.json()["status"]) == (202, "written by the connector")
    world.process()
    assert [r for r in world.runs() if r.trigger == "Webhook"] == []


def test_a_registered_webhook_carries_a_crm_edit_to_the_address_book(
    world: WebhookWorld,
) -> None:
    """The whole path: `webhooks register` against the local host's URL, then a person edits a
    contact in Dynamics; the sandbox posts it, the endpoint records it, a Webhook run pushes it."""
    outcome = register(world.rt, f"{world.host.base_url}/api/dynamics/webhook")
    assert outcome.changes, outcome.summary
    member, other = world.members("Newsletter")[:2]

    world.dv.state.update("contact", member["contactid"], {"jobtitle": "Edited in Dynamics"})
    world.dv.state.update("contact", other["contactid"], {"description": "not a synced column"})

    assert world.dv.state.wait_for_webhooks(10.0)
    posts = world.dv.state.webhooks
    assert (posts.counts.answered, posts.failures) == (Counter({202: 1}), [])
    world.process()
    book = world.book("Newsletter")
    assert book[member["emailaddress1"]]["JOBROLE"] == "Edited in Dynamics"
    webhook_runs = [r for r in world.runs() if r.trigger == "Webhook"]
    assert [r.status for r in webhook_runs] == [AuditStatus.COMPLETED]
