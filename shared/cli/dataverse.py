"""`python -m shared dataverse ...`: the connector's tables in Dynamics (Dataverse)."""

from __future__ import annotations

from typing import Annotated

import typer

from shared.cli import environment
from shared.cli.output import console as stdout
from shared.pipeline.provisioning import provision
from shared.runtime import get_runtime

dataverse_app = typer.Typer(
    help="The connector's tables and columns in Dynamics (Dataverse).", no_args_is_help=True
)


@dataverse_app.command("provision")
def provision_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be created; "
                                          "create nothing.")] = False,
) -> None:  # fmt: skip
    """Create the connector's tables and columns in the org of DATAVERSE_URL, in the solution
    DATAVERSE_SOLUTION (created with its publisher, prefix dms, if missing). Re-runnable:
    only what is missing is created."""
    console = stdout()
    environment.load_local_settings()
    rt = get_runtime()
    solution = rt.settings.dataverse_solution
    client = rt.dataverse()
    console.print(
        f"{'Dry run: nothing is created. ' if dry_run else ''}Org {client.org_url}, "
        f"solution {solution}."
    )
    outcome = provision(client, solution, dry_run=dry_run, progress=console.print)
    if dry_run and outcome.plan.steps:
        console.print(
            f"Would create {len(outcome.plan.steps)} definitions; run without --dry-run to "
            "create them."
        )
    else:
        console.print(outcome.summary, style="green")
