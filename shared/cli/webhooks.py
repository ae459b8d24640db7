"""`python -m shared webhooks ...`: register, list and remove the webhook through which Dynamics
posts its changes to the connector's HTTP function."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, emit
from shared.cli.output import console as stdout
from shared.clients.dataverse.plugin_registration import STATE_ENABLED
from shared.pipeline.webhook_plan import ENDPOINT_NAME, AuthOption, check_url
from shared.pipeline.webhook_registration import StepListing, listing, register, remove
from shared.runtime import get_runtime
from shared.storage.webhook_registrations import WebhookRegistration

webhooks_app = typer.Typer(
    help="The Dynamics webhook: near-real-time changes posted to the connector.",
    no_args_is_help=True,
)


@webhooks_app.command("register")
def register_command(
    url: Annotated[str, typer.Option("--url", help="The webhook function's URL without its key, "
                                     "e.g. https://<app>.azurewebsites.net/api/dynamics/webhook.")],
    auth: Annotated[AuthOption, typer.Option("--auth", help="How Dynamics presents the key "
                                             "(DYNAMICS_WEBHOOK_KEY).")] = AuthOption.WEBHOOK_KEY,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would change (steps with "
                                          "their filtering attributes); change nothing.")] = False,
    record_only: Annotated[bool, typer.Option("--record-only", help="Only record the organization "
                                              "(steps registered by hand with the Plugin "
                                              "Registration Tool).")] = False,
) -> None:  # fmt: skip
    """Register the service endpoint and its steps in the org of DATAVERSE_URL (or bring them up
    to date with the data mappings), then record the organization so its posts are accepted.
    Re-runnable: only what differs is changed."""
    url = check_url(url)  # before anything prints it: it might carry the key
    console = stdout()
    environment.load_local_settings()
    rt = get_runtime()
    console.print(
        f"{'Dry run: nothing is changed. ' if dry_run else ''}Org {rt.settings.dataverse_url}, "
        f"webhook {ENDPOINT_NAME} -> {url}."
    )
    outcome = register(
        rt, url, auth, dry_run=dry_run, record_only=record_only, progress=console.print
    )
    console.print(outcome.summary, style="green" if not outcome.dry_run else None)


def _rows_table(rows: list[WebhookRegistration]) -> Table:
    table = views.new_table(views.name("Organization id"), "Domain", "Connector user",
                            "Endpoint", "URL", "Auth", "Steps", "Registered (UTC)",
                            title="WebhookRegistrations")  # fmt: skip
    for row in rows:
        table.add_row(row.organization_id, row.organization_domain, row.connector_user_id,
                      row.endpoint_id or "(by hand)", row.url, row.auth_type, str(row.steps),
                      row.registered.strftime("%Y-%m-%d %H:%M:%S"))  # fmt: skip
    return table


@webhooks_app.command("list")
def list_command(output: OutputOption = Output.TABLE) -> None:
    """Show the recorded organizations and every webhook step in Dynamics (message, table,
    filtering attributes, state)."""
    environment.load_local_settings()
    rows, steps = listing(get_runtime())
    emit(output, {"registrations": rows, "steps": steps},
         lambda: Group(_rows_table(rows), _steps_table(steps)))  # fmt: skip


def _steps_table(steps: list[StepListing]) -> Table:
    table = views.new_table(views.name("Webhook"), "URL", "Message", "Table",
                            "Filtering attributes", "State",
                            title="Webhook steps in Dynamics")  # fmt: skip
    for found in steps:
        state = "Enabled" if found.step.state == STATE_ENABLED else "Disabled"
        columns = ",".join(sorted(found.step.filtering_attributes)) or "(all)"
        table.add_row(found.endpoint.name, found.endpoint.url, found.message, found.table,
                      columns, state)  # fmt: skip
    return table


@webhooks_app.command("remove")
def remove_command() -> None:
    """Delete the connector's steps, its service endpoint and the organization's row: Dynamics
    stops posting and the endpoint refuses the organization. The scheduled syncs go on."""
    console = stdout()
    environment.load_local_settings()
    outcome = remove(get_runtime(), progress=console.print)
    console.print(outcome.summary, style="green")
