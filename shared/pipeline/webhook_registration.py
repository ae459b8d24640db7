"""`webhooks register`, `list` and `remove`: compare the webhook plan (`webhook_plan`) with
what the org has, apply the difference, and record the organization in WebhookRegistrations.

Idempotent by natural keys: the endpoint is found by its name, a step by (message, filter)
under that endpoint, an image by its type under its step. A run cut short (or whose create
lost its answer) is finished by the next one; a second run finds nothing to change and says
so. Steps the plan no longer has are deleted; a changed mapping set updates the filtering
attributes in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from urllib.parse import urlsplit

from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.plugin_registration import (
    ServiceEndpoint,
    Step,
    WhoAmI,
)
from shared.errors import ApiError, ConfigurationError
from shared.pipeline.webhook_adobe import ingress_tables, opt_out_fields
from shared.pipeline.webhook_changes import Change, Differ, WebhookRegistrationError, delete_step
from shared.pipeline.webhook_plan import (
    ENDPOINT_NAME,
    AuthOption,
    check_url,
    planned_steps,
)
from shared.runtime import Runtime
from shared.settings import DataverseCredential
from shared.storage.webhook_registrations import WebhookRegistration

PRIVILEGE_HINT = (
    "the application user needs the System Customizer (or System Administrator) role to "
    "register webhooks: in the Power Platform admin center open the environment, Settings > "
    "Users + permissions > Application users, select the connector's app and Edit security roles"
)
_PAST = {"create": "created", "update": "updated", "enable": "enabled", "delete": "deleted",
         "record": "recorded"}  # fmt: skip
Progress = Callable[[str], None]


@dataclass
class Outcome:
    org_url: str
    url: str
    option: AuthOption | None
    steps: int
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    removing: bool = False

    @property
    def summary(self) -> str:
        if self.removing:
            if not self.changes:
                return f"Nothing to remove: no {ENDPOINT_NAME} webhook or organization row."
            return f"Removed the webhook registration from {self.org_url}."
        if not self.changes:
            how = f" ({self.option.label})" if self.option else ""
            return (
                f"Nothing to change: the webhook posting to {self.url}{how} has its "
                f"{self.steps} steps and the organization is recorded."
            )
        if self.dry_run:
            return f"Would make {len(self.changes)} changes; run without --dry-run to make them."
        return f"Made {len(self.changes)} changes in {self.org_url}."


def webhook_key(rt: Runtime) -> str:
    secret = rt.settings.dynamics_webhook_key
    key = secret.get_secret_value() if secret is not None else ""
    if not key:
        raise ConfigurationError(
            "DYNAMICS_WEBHOOK_KEY is not set: set it to the webhook function's key (in Azure "
            "the function key named dynamics-webhook), then run `python -m shared webhooks "
            "register` again"
        )
    return key


def organization_domain(rt: Runtime) -> str:
    """The host Dataverse names in `x-ms-dynamics-organization`: DATAVERSE_URL's, lower-case."""
    return (urlsplit(rt.settings.dataverse_url or "").hostname or "").lower()


def _record_change(
    rt: Runtime, row: WebhookRegistration, endpoint: Callable[[], str]
) -> Change | None:
    """Write the organization's row unless it already says the same (its date aside)."""
    existing = rt.webhook_registrations.get(row.organization_id)

    def run() -> None:
        rt.webhook_registrations.save(replace(row, endpoint_id=endpoint(), registered=rt.clock()))

    if existing is not None and replace(existing, registered=row.registered) == row:
        return None
    return Change(
        "record",
        f"organization {row.organization_domain} ({row.organization_id}) in WebhookRegistrations",
        run,
    )


def connector_user(rt: Runtime, client: DataverseClient, who: WhoAmI) -> str:
    """The user whose writes are the connector's own (loop prevention): the signed-in app
    itself, or, signed in through the Azure CLI (an operator, the deploy workflow's
    provisioning identity), the application user of DATAVERSE_CLIENT_ID."""
    if rt.settings.dataverse_credential is not DataverseCredential.AZURE_CLI:
        return who.user_id
    client_id = (rt.settings.dataverse_client_id or "").strip()
    try:
        uuid.UUID(client_id)
    except ValueError:
        raise ConfigurationError(
            f"DATAVERSE_CLIENT_ID is {'not set' if not client_id else 'not a GUID'}: with "
            "DATAVERSE_CREDENTIAL=AzureCli it names the connector's app registration (the "
            "function app's DATAVERSE_CLIENT_ID), whose own writes the webhook endpoint ignores"
        ) from None
    user = client.plugin_registration.application_user(client_id)
    if user is None:
        raise ConfigurationError(
            f"{client.org_url} has no application user for the app {client_id} "
            "(DATAVERSE_CLIENT_ID): create it in the Power Platform admin center (README, "
            "Running against a real Dynamics org, step 1), then register again"
        )
    return user


def _row(rt: Runtime, user_id: str, who: WhoAmI, url: str, option: AuthOption | None,
         steps: int, endpoint_id: str) -> WebhookRegistration:  # fmt: skip
    return WebhookRegistration(
        organization_id=who.organization_id,
        organization_domain=organization_domain(rt),
        connector_user_id=user_id,
        registered=rt.clock(),
        endpoint_id=endpoint_id,
        url=url,
        auth_type=option.label if option else "",
        steps=steps,
    )


def _apply(outcome: Outcome, progress: Progress) -> Outcome:
    total = len(outcome.changes)
    for number, change in enumerate(outcome.changes, 1):
        if outcome.dry_run:
            progress(f"[{number}/{total}] would {change.verb} {change.what}")
            continue
        try:
            change.run()
        except ApiError as error:
            if error.status == 403:
                raise WebhookRegistrationError(
                    f"Dataverse refused to {change.verb} {change.what}: "
                    f"{getattr(error, 'service_message', '') or error}; {PRIVILEGE_HINT}"
                ) from error
            raise
        progress(f"[{number}/{total}] {_PAST[change.verb]} {change.what}")
    return outcome


def register(
    rt: Runtime,
    url: str,
    option: AuthOption = AuthOption.WEBHOOK_KEY,
    *,
    dry_run: bool = False,
    record_only: bool = False,
    progress: Progress = lambda _line: None,
) -> Outcome:
    """Register (or bring up to date) the endpoint and its steps, then record the org."""
    url = check_url(url)
    client = rt.dataverse()
    api = client.plugin_registration
    who = api.who_am_i()
    user_id = connector_user(rt, client, who)
    if record_only:
        return _record_only(rt, client, who, user_id, url, dry_run=dry_run, progress=progress)
    key = webhook_key(rt)
    accounts = list(rt.accounts.all())  # read three times below
    plan = planned_steps([rt.mappings.for_account(a.account_id) for a in accounts],
                         ingress_tables(rt, accounts), opt_out_fields(rt, accounts))  # fmt: skip
    planner = Differ(api, url, option)
    changes = planner.endpoint_changes(key)
    changes.extend(planner.step_changes(plan))
    row = _row(rt, user_id, who, url, option, len(plan), planner.endpoint_id)
    recorded = _record_change(rt, row, lambda: planner.endpoint_id)
    if recorded is not None:
        changes.append(recorded)
    outcome = Outcome(client.org_url, url, option, len(plan), changes, dry_run)
    return _apply(outcome, progress)


def _record_only(rt: Runtime, client: DataverseClient, who: WhoAmI, user_id: str, url: str, *,
                 dry_run: bool, progress: Progress) -> Outcome:  # fmt: skip
    """Steps registered by hand: find the webhook with this URL (any name) to count its steps;
    write only the organization's row."""
    api = client.plugin_registration
    endpoint = next((e for e in api.webhook_endpoints() if e.url == url), None)
    steps = len(api.steps(endpoint.id)) if endpoint else 0
    option = AuthOption.of_auth_type(endpoint.auth_type) if endpoint else None
    if endpoint is None:
        progress(f"No webhook in {client.org_url} posts to {url}: recording the organization only.")
    row = _row(rt, user_id, who, url, option, steps, endpoint.id if endpoint else "")
    recorded = _record_change(rt, row, lambda: row.endpoint_id)
    outcome = Outcome(client.org_url, url, option, steps, [recorded] if recorded else [], dry_run)
    return _apply(outcome, progress)


@dataclass(frozen=True)
class StepListing:
    endpoint: ServiceEndpoint
    step: Step
    message: str
    table: str


def listing(rt: Runtime) -> tuple[list[WebhookRegistration], list[StepListing]]:
    """The WebhookRegistrations rows and every webhook step of the org (this connector's and
    any registered by hand), with message and table names."""
    rows = rt.webhook_registrations.all()
    api = rt.dataverse().plugin_registration
    names = {v: k for k, v in api.message_ids(["Create", "Update", "Delete", "Associate",
                                                "Disassociate"]).items()}  # fmt: skip
    tables: dict[str, str] = {}
    found: list[StepListing] = []
    for endpoint in api.webhook_endpoints():
        for step in api.steps(endpoint.id):
            if step.message_id not in names:
                names[step.message_id] = api.message_name(step.message_id) or step.message_id
            if step.filter_id and step.filter_id not in tables:
                tables[step.filter_id] = api.filter_table(step.filter_id) or "?"
            table = tables.get(step.filter_id, "none")
            found.append(StepListing(endpoint, step, names[step.message_id], table))
    return rows, found


def remove(rt: Runtime, *, progress: Progress = lambda _line: None) -> Outcome:
    """Delete the connector's steps (with their images), its endpoint and the org's row."""
    client = rt.dataverse()
    api = client.plugin_registration
    who = api.who_am_i()
    changes: list[Change] = []
    for endpoint in api.webhook_endpoints(ENDPOINT_NAME):
        changes.extend(delete_step(api, step, "removed") for step in api.steps(endpoint.id))
        changes.append(
            Change(
                "delete",
                f"service endpoint {ENDPOINT_NAME} ({endpoint.url})",
                partial(api.delete_endpoint, endpoint.id),
            )
        )
    row = rt.webhook_registrations.get(who.organization_id)
    if row is not None:
        changes.append(
            Change(
                "delete",
                f"organization {row.organization_domain} from WebhookRegistrations",
                lambda: rt.webhook_registrations.delete(who.organization_id),
            )
        )
        if not row.endpoint_id:
            progress(
                "Steps registered by hand stay: remove them with the Plugin Registration Tool."
            )
    outcome = Outcome(client.org_url, "", None, 0, changes, removing=True)
    return _apply(outcome, progress)
