"""OptOut started by a Dynamics webhook: a contact's opt-out Boolean changed in Dynamics reaches
Campaign within the coalescing window, not at the next scheduled run. Over HTTP through the
local host's endpoint, the Azurite queue and the worker, against the Dataverse and ACS sandboxes:
the modes that send Dynamics's changes to Campaign queue the run, the others do not; a
redelivered post and a burst of posts make one run; `webhooks register` adds the opt-out
fields to contact's Update filter, once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sandbox.adobe import AdobeState
from sandbox.dataverse.metadata_model import who_am_i_ids
from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.audit import AuditRecord, AuditStatus
from shared.localhost.host import LocalHost
from shared.pipeline import admin
from shared.pipeline.webhook_registration import listing, register
from shared.runtime import Runtime
from shared.storage.adobe_config_model import OptOutMode
from shared.storage.schedules_repo import ScheduleStatus
from shared.storage.webhook_registrations import WebhookRegistration
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox
from tests.pipeline.helpers import EVERY_5, run_scheduled
from tests.pipeline.opt_out.world import OPT_OUT, person, profile_of, set_mode
from tests.pipeline.webhook_helpers import KEY
from tests.webhooks import bodies

PERSON = "5f0c1d2e-0000-4000-8000-00000000beef"  # a CRM user, not the connector


@pytest.fixture
def endpoint(
    sync_runtime: Runtime, globex: EmailAccount, host: LocalHost,
    dataverse_sandbox: DataverseSandbox,
) -> Iterator[WebhookRegistration]:  # fmt: skip
    """The webhook endpoint served over HTTP, the sandbox's organization registered; OptOut
    scheduled every 5 minutes (events start no run of a Manual Sync Only type)."""
    rt = sync_runtime
    rt.settings.dynamics_webhook_key = SecretStr(KEY)
    # The manual clock stands for the coalescing window; the local queue's delay would only
    # slow the tests down.
    rt.settings.webhook_coalesce_seconds = 0
    assert rt.settings.dataverse_client_id is not None
    ids = who_am_i_ids(dataverse_sandbox.state, rt.settings.dataverse_client_id)
    registration = WebhookRegistration(
        organization_id=ids["OrganizationId"],
        organization_domain="127.0.0.1",
        connector_user_id=ids["UserId"],
        registered=rt.clock(),
    )
    rt.webhook_registrations.save(registration)
    admin.set_schedule(rt, "globex", OPT_OUT, EVERY_5)
    host.serve_http()
    try:
        yield registration
    finally:
        host.stop()


def _contact_update(
    registration: WebhookRegistration, contact_id: str, correlation: str | None = None,
    **values: Any,
) -> dict[str, Any]:  # fmt: skip
    """A contact Update as Dataverse posts it (the documented sample's shape), by a CRM user."""
    body = bodies.update()
    body.pop("ParentContext")
    body["OrganizationId"] = registration.organization_id
    body["CorrelationId"] = correlation or str(uuid.uuid4())
    body["UserId"] = body["InitiatingUserId"] = PERSON
    body["PrimaryEntityId"] = contact_id
    target = bodies.entity("contact", contact_id, contactid=contact_id, **values)
    target["RowVersion"] = str(uuid.uuid4().int % 10**9)
    body["InputParameters"] = [{"key": "Target", "value": target}]
    body["PostEntityImages"] = []
    return body


def _post(
    host: LocalHost, registration: WebhookRegistration, body: dict[str, Any], *,
    size_exceeded: bool = False,
) -> str:  # fmt: skip
    """Post as Dataverse does; the endpoint's answer (always 202 here)."""
    answer = httpx.post(
        f"{host.base_url}/api/dynamics/webhook",
        params={"code": KEY},
        headers=bodies.headers(
            domain=registration.organization_domain, size_exceeded=size_exceeded
        ),
        content=bodies.encode(body),
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["status"])


def _process(host: LocalHost, clock: ManualClock) -> None:
    """Let the coalescing window pass, then deliver what is queued."""
    clock.advance(seconds=10)
    host.drain()


def _webhook_runs(rt: Runtime) -> list[AuditRecord]:
    return [r for r in rt.audit.recent("globex", sync_type=OPT_OUT) if r.trigger == "Webhook"]


def test_a_bulk_email_opt_out_posted_by_the_webhook_reaches_campaign(
    sync_runtime: Runtime, endpoint: WebhookRegistration, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    ada = person(dv, acs, "ada")
    assert run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT).counts.updated == 0
    clock.advance(minutes=1)  # long before the next scheduled run

    dv.update("contact", ada, {"donotbulkemail": True})
    answer = _post(host, endpoint, _contact_update(endpoint, ada, donotbulkemail=True))

    assert answer == "recorded"
    assert sync_runtime.schedules.get("globex", OPT_OUT).status is ScheduleStatus.QUEUED
    _process(host, clock)
    assert profile_of(acs, ada)["blackListEmail"] is True
    [run] = _webhook_runs(sync_runtime)
    assert run.status is AuditStatus.COMPLETED, run.message
    assert run.counts.updated == 1
    assert sync_runtime.webhook_targets.pending("globex", OPT_OUT) == []


def test_a_redelivery_and_a_burst_of_posts_make_one_run(
    sync_runtime: Runtime, endpoint: WebhookRegistration, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    people = [person(dv, acs, name) for name in ("ada", "ben", "cy")]
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    clock.advance(minutes=1)

    answers = []
    for contact_id in people:  # three CRM users opt three contacts out within seconds
        dv.update("contact", contact_id, {"donotpostalmail": True})
        body = _contact_update(endpoint, contact_id, donotpostalmail=True)
        answers += [_post(host, endpoint, body), _post(host, endpoint, body)]  # and again

    assert answers == ["recorded", "already recorded"] * 3
    _process(host, clock)
    assert [profile_of(acs, c)["blackListPostalMail"] for c in people] == [True] * 3
    [run] = _webhook_runs(sync_runtime)
    assert run.status is AuditStatus.COMPLETED, run.message
    assert run.counts.updated == 3
    assert sync_runtime.schedules.get("globex", OPT_OUT).status is ScheduleStatus.NONE


@pytest.mark.parametrize("mode", [OptOutMode.CAMPAIGN_TO_DYNAMICS, OptOutMode.DISABLED])
def test_modes_that_send_nothing_to_campaign_queue_nothing(
    sync_runtime: Runtime, endpoint: WebhookRegistration, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState, mode: OptOutMode,
) -> None:  # fmt: skip
    set_mode(sync_runtime, mode)
    ada = person(dv, acs, "ada")

    dv.update("contact", ada, {"donotbulkemail": True})
    answer = _post(host, endpoint, _contact_update(endpoint, ada, donotbulkemail=True))

    assert answer == "nothing to sync"
    assert sync_runtime.schedules.get("globex", OPT_OUT).status is ScheduleStatus.NONE
    _process(host, clock)
    assert _webhook_runs(sync_runtime) == []
    assert profile_of(acs, ada)["blackListEmail"] is False


def test_only_a_change_of_a_mapped_opt_out_field_or_an_unlisted_one_queues_the_run(
    sync_runtime: Runtime, endpoint: WebhookRegistration, host: LocalHost,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    set_mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    ada = person(dv, acs, "ada")

    # donotphone is a Boolean no pair maps here (PAIRS: bulk email, postal mail, fax).
    unmapped = _post(host, endpoint, _contact_update(endpoint, ada, donotphone=True))
    assert unmapped == "nothing to sync"
    assert sync_runtime.schedules.get("globex", OPT_OUT).status is ScheduleStatus.NONE

    # Over 256 KB Dataverse drops the columns: any contact change may be an opt-out.
    oversized = bodies.oversized(_contact_update(endpoint, ada))
    assert _post(host, endpoint, oversized, size_exceeded=True) == "recorded"
    assert sync_runtime.schedules.get("globex", OPT_OUT).status is ScheduleStatus.QUEUED


def test_registered_webhook_filters_on_the_opt_out_fields_and_carries_a_crm_opt_out(
    sync_runtime: Runtime, endpoint: WebhookRegistration, host: LocalHost, clock: ManualClock,
    dv: DataverseState, acs: AdobeState,
) -> None:  # fmt: skip
    """The whole path: `webhooks register`, then a CRM user sets Bulk Email to Do Not Allow;
    the sandbox posts it, the endpoint records it, a Webhook run writes it to Campaign."""
    set_mode(sync_runtime, OptOutMode.BIDIRECTIONAL)
    ada, ben = person(dv, acs, "ada"), person(dv, acs, "ben")
    run_scheduled(sync_runtime, host, clock, "globex", OPT_OUT)
    url = f"{host.base_url}/api/dynamics/webhook"

    first = register(sync_runtime, url)
    again = register(sync_runtime, url)

    assert first.changes and again.changes == [], again.summary
    assert again.summary.startswith("Nothing to change")
    contact_update = _contact_update_step(sync_runtime)
    assert {"donotbulkemail", "donotpostalmail", "donotfax"} <= contact_update.filtering_attributes
    assert "donotphone" not in contact_update.filtering_attributes

    clock.advance(minutes=1)
    dv.update("contact", ada, {"donotbulkemail": True})
    dv.update("contact", ben, {"description": "no synced column"})  # posts nothing
    assert dv.wait_for_webhooks(10.0)
    assert (dv.webhooks.counts.answered, dv.webhooks.failures) == (Counter({202: 1}), [])
    _process(host, clock)

    assert profile_of(acs, ada)["blackListEmail"] is True
    [run] = _webhook_runs(sync_runtime)
    assert run.status is AuditStatus.COMPLETED and run.counts.updated == 1, run.message


def test_registration_drops_the_opt_out_fields_when_the_mode_no_longer_sends_them(
    sync_runtime: Runtime, endpoint: WebhookRegistration, host: LocalHost,
) -> None:  # fmt: skip
    url = f"{host.base_url}/api/dynamics/webhook"
    set_mode(sync_runtime, OptOutMode.DYNAMICS_TO_CAMPAIGN)
    register(sync_runtime, url)
    assert "donotfax" in _contact_update_step(sync_runtime).filtering_attributes

    set_mode(sync_runtime, OptOutMode.CAMPAIGN_TO_DYNAMICS)
    changed = register(sync_runtime, url)

    filters = [c.what for c in changed.changes if c.what.startswith("filtering attributes")]
    assert filters == [
        "filtering attributes of step Update of contact: "
        + ",".join(sorted(_contact_update_step(sync_runtime).filtering_attributes))
    ]
    assert "donotfax" not in _contact_update_step(sync_runtime).filtering_attributes


def _contact_update_step(rt: Runtime) -> Any:
    _rows, steps = listing(rt)
    [found] = [s.step for s in steps if (s.message, s.table) == ("Update", "contact")]
    return found
