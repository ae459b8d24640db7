"""`python -m shared webhooks register | list | remove` against the Dataverse sandbox and
Azurite: a first run registers the endpoint, its steps and the organization; a second changes
nothing; a new mapping updates the filtering attributes; a dry run writes nothing;
`--record-only` records a webhook registered by hand; `remove` takes it all away. The key is
never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from sandbox.dataverse.plugin_registration import (
    AUTH_HTTP_HEADER,
    auth_value,
    filter_id,
    message_id,
)
from sandbox.launch import Sandboxes
from shared.accounts import EmailAccount
from shared.cli import app as cli
from shared.cli import environment
from shared.clients import RetryPolicy
from shared.mappings.model import DataMapping, MappedEntity, MappingDirection
from shared.runtime import Runtime, install_runtime
from shared.settings import Settings
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox
from tests.pipeline.conftest import sync_settings

URL = "https://connector.example.invalid/api/dynamics/webhook"
KEY = "sandbox-webhook-key-for-tests"  # not a secret: what the tests' endpoint expects
WRITES = ("POST", "PATCH", "DELETE")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "load_local_settings", lambda: None)


def _runtime(settings: Settings, sandboxes: Sandboxes, clock: ManualClock, retry: RetryPolicy,
             **overrides: str) -> Runtime:  # fmt: skip
    rt = Runtime(sync_settings(settings, sandboxes, **overrides), clock=clock, retry=retry)
    install_runtime(rt)
    return rt


@pytest.fixture
def rt(
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    clock: ManualClock,
    retry_policy: RetryPolicy,
) -> Iterator[Runtime]:
    runtime = _runtime(settings, sandboxes, clock, retry_policy, DYNAMICS_WEBHOOK_KEY=KEY)
    runtime.accounts.save(
        EmailAccount(
            account_id="acme",
            name="Acme",
            api_user="api@example.invalid",
            api_password_secret_name="ACME_DOTDIGITAL_PASSWORD",
        )
    )
    for mapping in (
        DataMapping(label="EMAIL", entity=MappedEntity.CONTACT, primary_field="emailaddress1"),
        DataMapping(label="FIRSTNAME", entity=MappedEntity.CONTACT, primary_field="firstname"),
        DataMapping(label="CITY", entity=MappedEntity.LEAD, primary_field="address1_city"),
        # Written to Dynamics: watched all the same (the recorder's watched_columns).
        DataMapping(
            label="SCORE",
            entity=MappedEntity.CONTACT,
            primary_field="description",
            direction=MappingDirection.TO_DYNAMICS,
        ),
    ):
        runtime.mappings.create("acme", mapping)
    yield runtime
    install_runtime(None)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args), env={"COLUMNS": "250"})
    assert KEY not in result.output  # never printed, whatever happens
    return result.exit_code, result.output


def steps(sandbox: DataverseSandbox) -> dict[tuple[str, str], dict[str, object]]:
    """(message, table) -> the step row, from the sandbox's own state."""
    state = sandbox.state
    names = {message_id(m): m for m in ("Create", "Update", "Delete", "Associate", "Disassociate")}
    out: dict[tuple[str, str], dict[str, object]] = {}
    for row_id in list(state.tables["sdkmessageprocessingstep"].rows):
        row = state.row("sdkmessageprocessingstep", row_id)
        assert row is not None
        found = state.row("sdkmessagefilter", str(row["_sdkmessagefilterid_value"]))
        assert found is not None
        out[(names[str(row["_sdkmessageid_value"])], str(found["primaryobjecttypecode"]))] = row
    return out


def images(sandbox: DataverseSandbox, step_id: object) -> list[dict[str, object]]:
    state = sandbox.state
    rows = [state.row("sdkmessageprocessingstepimage", i)
            for i in state.tables["sdkmessageprocessingstepimage"].rows]  # fmt: skip
    return [r for r in rows if r and r["_sdkmessageprocessingstepid_value"] == step_id]


def writes(sandbox: DataverseSandbox) -> int:
    """Web API writes (the token endpoint's POSTs are not writes)."""
    calls = sandbox.state.counters.calls()
    return sum(1 for c in calls if c.method in WRITES and "/api/data/" in c.path)


def test_register_then_nothing_to_change(rt: Runtime, dataverse_sandbox: DataverseSandbox) -> None:
    code, out = invoke("webhooks", "register", "--url", URL)
    assert code == 0, out
    assert "[1/15] created service endpoint Dynamics Marketing Sync (Webhook, WebhookKey, " in out
    assert "created step Update of contact (asynchronous, post-operation; filtering " in out
    assert "recorded organization" in out

    (endpoint_id,) = dataverse_sandbox.state.tables["serviceendpoint"].rows
    endpoint = dataverse_sandbox.state.row("serviceendpoint", endpoint_id)
    assert endpoint is not None
    assert (endpoint["contract"], endpoint["messageformat"], endpoint["url"]) == (8, 2, URL)
    assert auth_value(dataverse_sandbox.state, endpoint_id) == KEY

    registered = steps(dataverse_sandbox)
    assert set(registered) == {
        ("Update", "contact"), ("Update", "lead"), ("Update", "account"),
        ("Delete", "contact"), ("Delete", "lead"), ("Delete", "account"),
        ("Update", "list"), ("Associate", "none"), ("Disassociate", "none"),
        ("Create", "dms_emailsuppression"), ("Update", "dms_emailsuppression"),
        ("Create", "dms_emailsend"),
        ("Create", "dms_programenrolment"),
    }  # fmt: skip
    for row in registered.values():
        assert (row["mode"], row["stage"], row["statecode"]) == (1, 40, 0)
        assert row["_eventhandler_value"] == endpoint_id and row["asyncautodelete"] is True
    # The mapped columns, the email column and the state (the recorder's watched columns).
    contact = registered[("Update", "contact")]
    assert contact["filteringattributes"] == "description,emailaddress1,firstname,statecode"
    assert registered[("Update", "lead")]["filteringattributes"] == (
        "address1_city,emailaddress1,statecode"
    )
    assert registered[("Update", "list")]["filteringattributes"] == (
        "dms_emailaccountid,dms_emailactivated,dms_membershipaction,statecode"
    )
    assert registered[("Update", "dms_emailsuppression")]["filteringattributes"] == (
        "dms_requestresubscribe"
    )
    assert registered[("Delete", "contact")]["filteringattributes"] is None
    (post,) = images(dataverse_sandbox, contact["sdkmessageprocessingstepid"])
    assert (post["imagetype"], post["entityalias"], post["attributes"]) == (
        1, "PostImage", "description,emailaddress1,firstname,statecode"
    )  # fmt: skip

    who = rt.dataverse().plugin_registration.who_am_i()
    row = rt.webhook_registrations.get(who.organization_id)
    assert row is not None
    assert row.organization_domain == urlsplit(rt.settings.dataverse_url or "").hostname
    assert (row.connector_user_id, row.endpoint_id, row.url) == (who.user_id, endpoint_id, URL)
    assert (row.auth_type, row.steps) == ("WebhookKey", 13)

    before = writes(dataverse_sandbox)
    code, again = invoke("webhooks", "register", "--url", URL)
    assert code == 0, again
    assert "Nothing to change: the webhook posting to" in again and "13 steps" in again
    assert "] created" not in again and "] updated" not in again
    assert writes(dataverse_sandbox) == before


def test_a_new_mapping_updates_the_filtering_attributes_and_strays_are_put_right(
    rt: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    assert invoke("webhooks", "register", "--url", URL)[0] == 0
    registration = rt.dataverse().plugin_registration
    (endpoint,) = registration.webhook_endpoints()
    by_hand = registration.create_step(
        name="a step the plan does not have", description="", message_id=message_id("Update"),
        filter_id=filter_id("Update", "task"), endpoint_id=endpoint.id,
    )  # fmt: skip
    lead_update = steps(dataverse_sandbox)[("Update", "lead")]["sdkmessageprocessingstepid"]
    rt.dataverse().update(
        "sdkmessageprocessingsteps", str(lead_update), {"statecode": 1, "statuscode": 2}
    )
    rt.mappings.create(
        "acme", DataMapping(label="JOB", entity=MappedEntity.CONTACT, primary_field="jobtitle")
    )

    code, out = invoke("webhooks", "register", "--url", URL)
    assert code == 0, out
    assert (
        "updated filtering attributes of step Update of contact: "
        "description,emailaddress1,firstname,jobtitle,statecode" in out
    )
    assert "updated PostImage of step Update of contact" in out
    assert "enabled step Update of lead" in out
    assert "deleted step a step the plan does not have (no longer in the plan)" in out
    registered = steps(dataverse_sandbox)
    assert ("Update", "task") not in registered
    assert dataverse_sandbox.state.row("sdkmessageprocessingstep", by_hand) is None
    contact = registered[("Update", "contact")]
    assert contact["filteringattributes"] == (
        "description,emailaddress1,firstname,jobtitle,statecode"
    )
    assert registered[("Update", "lead")]["statecode"] == 0
    assert "Nothing to change" in invoke("webhooks", "register", "--url", URL)[1]


def test_a_changed_key_url_or_auth_type_updates_the_endpoint(
    rt: Runtime,
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    clock: ManualClock,
    retry_policy: RetryPolicy,
) -> None:
    assert invoke("webhooks", "register", "--url", URL)[0] == 0
    (endpoint_id,) = dataverse_sandbox.state.tables["serviceendpoint"].rows
    rotated = "sandbox-webhook-key-rotated"
    _runtime(settings, sandboxes, clock, retry_policy, DYNAMICS_WEBHOOK_KEY=rotated)

    code, out = invoke("webhooks", "register", "--url", URL + "2", "--auth", "http-header")
    assert code == 0, out
    assert "updated service endpoint Dynamics Marketing Sync: authtype, url, key" in out
    assert rotated not in out
    endpoint = dataverse_sandbox.state.row("serviceendpoint", endpoint_id)
    assert endpoint is not None
    assert (endpoint["authtype"], endpoint["url"]) == (AUTH_HTTP_HEADER, URL + "2")
    assert auth_value(dataverse_sandbox.state, endpoint_id) == (
        f'<settings><setting name="x-functions-key" value="{rotated}" /></settings>'
    )
    assert "steps" not in out.split("updated service endpoint")[1].split("\n")[0]


def test_dry_run_lists_the_steps_and_writes_nothing(
    rt: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    code, out = invoke("webhooks", "register", "--url", URL, "--dry-run")
    assert code == 0, out
    assert out.startswith("Dry run: nothing is changed.")
    assert (
        "would create step Update of lead (asynchronous, post-operation; filtering attributes "
        "address1_city,emailaddress1,statecode; PostImage address1_city,emailaddress1,statecode)"
    ) in out
    assert "would create step Associate (asynchronous, post-operation)" in out
    assert "Would make 15 changes; run without --dry-run to make them." in out
    assert writes(dataverse_sandbox) == 0
    assert rt.webhook_registrations.all() == []


def test_record_only_records_a_webhook_registered_by_hand(
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    clock: ManualClock,
    retry_policy: RetryPolicy,
) -> None:
    rt = _runtime(settings, sandboxes, clock, retry_policy)  # no DYNAMICS_WEBHOOK_KEY needed
    try:
        registration = rt.dataverse().plugin_registration
        endpoint_id = registration.create_endpoint(
            name="Made with the PRT", url=URL, auth_type=4, auth_value=KEY, description=""
        )
        for message in ("Update", "Delete"):
            registration.create_step(
                name=f"{message} of contact", description="", message_id=message_id(message),
                filter_id=filter_id(message, "contact"), endpoint_id=endpoint_id,
            )  # fmt: skip

        code, out = invoke("webhooks", "register", "--url", URL, "--record-only")
        assert code == 0, out
        assert "[1/1] recorded organization" in out
        assert len(dataverse_sandbox.state.tables["sdkmessageprocessingstep"].rows) == 2
        (row,) = rt.webhook_registrations.all()
        assert (row.endpoint_id, row.steps, row.auth_type) == (endpoint_id, 2, "WebhookKey")
        assert "Nothing to change" in invoke("webhooks", "register", "--url", URL,
                                             "--record-only")[1]  # fmt: skip

        code, out = invoke("webhooks", "list")
        assert code == 0, out
        assert "Made with the PRT" in out and "Delete" in out and "(all)" in out
    finally:
        install_runtime(None)


def test_list_then_remove(rt: Runtime, dataverse_sandbox: DataverseSandbox) -> None:
    assert invoke("webhooks", "register", "--url", URL)[0] == 0
    code, out = invoke("webhooks", "list")
    assert code == 0, out
    assert "WebhookRegistrations" in out and "WebhookKey" in out
    line = next(li for li in out.splitlines() if "Update" in li and "contact" in li)
    assert "description,emailaddress1,firstname,statecode" in line and "Enabled" in line

    code, out = invoke("webhooks", "list", "--output", "json")
    assert code == 0, out
    listed = json.loads(out)  # one document: the registrations and the steps
    (registration,) = listed["registrations"]
    assert (registration["url"], registration["auth_type"]) == (URL, "WebhookKey")
    update = next(s for s in listed["steps"] if (s["message"], s["table"]) == ("Update", "contact"))
    assert sorted(update["step"]["filtering_attributes"]) == [
        "description", "emailaddress1", "firstname", "statecode"
    ]  # fmt: skip

    code, out = invoke("webhooks", "remove")
    assert code == 0, out
    assert "deleted step Dynamics Marketing Sync: Update of contact (removed)" in out
    assert "deleted service endpoint Dynamics Marketing Sync" in out
    for table in ("serviceendpoint", "sdkmessageprocessingstep", "sdkmessageprocessingstepimage"):
        assert len(dataverse_sandbox.state.tables[table].rows) == 0, table
    assert rt.webhook_registrations.all() == []
    assert "Nothing to remove" in invoke("webhooks", "remove")[1]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (URL + "?code=" + KEY, "--url carries code=...: give the URL without the key"),
        ("ftp://connector.example.invalid/hook", "--url must be the webhook function's http(s)"),
    ],
)
def test_a_url_with_the_key_or_not_http_is_refused(
    rt: Runtime, dataverse_sandbox: DataverseSandbox, url: str, says: str
) -> None:
    code, out = invoke("webhooks", "register", "--url", url)
    assert code == 2
    (line,) = [li for li in out.splitlines() if li.startswith("Error: ")]
    assert says in line
    assert writes(dataverse_sandbox) == 0


def test_errors_are_one_line_saying_what_to_do(
    settings: Settings,
    sandboxes: Sandboxes,
    dataverse_sandbox: DataverseSandbox,
    clock: ManualClock,
    retry_policy: RetryPolicy,
) -> None:
    _runtime(settings, sandboxes, clock, retry_policy)
    try:
        code, out = invoke("webhooks", "register", "--url", URL)
        assert code == 1
        (line,) = [li for li in out.splitlines() if li.startswith("Error: ")]
        assert "DYNAMICS_WEBHOOK_KEY is not set" in line

        _runtime(settings, sandboxes, clock, retry_policy, DYNAMICS_WEBHOOK_KEY=KEY)
        dataverse_sandbox.state.deny_customization = True
        code, out = invoke("webhooks", "register", "--url", URL)
        assert code == 1
        (line,) = [li for li in out.splitlines() if li.startswith("Error: ")]
        assert "is missing prvCreateServiceEndpoint privilege" in line  # Dataverse's message
        assert "System Customizer" in line
    finally:
        install_runtime(None)


def test_relationship_steps_need_no_table_filter(
    rt: Runtime, dataverse_sandbox: DataverseSandbox
) -> None:
    # An org whose Associate / Disassociate have no `none` filter: the steps go without one.
    for message in ("Associate", "Disassociate"):
        dataverse_sandbox.state.delete("sdkmessagefilter", filter_id(message, "none"))

    code, out = invoke("webhooks", "register", "--url", URL)
    assert code == 0, out
    state = dataverse_sandbox.state
    rows = [state.row("sdkmessageprocessingstep", i)
            for i in state.tables["sdkmessageprocessingstep"].rows]  # fmt: skip
    unfiltered = [r for r in rows if r and r["_sdkmessagefilterid_value"] is None]
    assert sorted(str(r["name"]) for r in unfiltered) == [
        "Dynamics Marketing Sync: Associate",
        "Dynamics Marketing Sync: Disassociate",
    ]
    assert "Nothing to change" in invoke("webhooks", "register", "--url", URL)[1]
    code, listed = invoke("webhooks", "list")
    assert code == 0 and "Associate" in listed
