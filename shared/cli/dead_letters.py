"""`dead-letters`: list the sync requests the queue gave up on, replay them once their cause
is fixed, discard the ones no worker can use (shared/service/dead_letters.py decides)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from shared.cli import environment
from shared.cli.output import Output, OutputOption, print_json
from shared.errors import BadInputError
from shared.service import dead_letters as service
from shared.service.dead_letters import DeadLetterView, ReplayOutcome, ReplayResult

console = Console()
dead_letters_app = typer.Typer(
    help="Sync requests the queue gave up on (Service Bus dead-letter queue, or the local "
    "poison queue): list, replay, discard.",
    no_args_is_help=True,
)
STYLES = {
    ReplayOutcome.RESENT: "green",
    ReplayOutcome.REMOVED: "green",
    ReplayOutcome.KEPT: "yellow",
    ReplayOutcome.GONE: "yellow",
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def print_letter(v: DeadLetterView) -> None:
    """One dead letter as a block: its texts are long, a table would cut or wrap them."""
    console.print(f"Dead letter {v.letter_id} (enqueued {_when(v.enqueued_utc)} UTC)",
                  style="bold", soft_wrap=True)  # fmt: skip
    run = " ".join(x for x in (v.account_id, v.sync_type) if x) or "-"
    if v.run_id:
        run += f", run {v.run_id} ({v.trigger})"
    audit = "-"
    if v.audit is not None:
        audit = f"{v.audit.status.value} {_when(v.audit.started)} UTC: {v.audit.message}"
    for name, value in (("Run", run), ("Reason", v.reason or "-"), ("Audit", audit),
                        ("State", f"{v.state.value}: {v.advice}")):  # fmt: skip
        console.print(f"  {name + ':':<8}{value}", soft_wrap=True, highlight=False)


@dead_letters_app.command("list")
def list_letters(output: OutputOption = Output.TABLE) -> None:
    """List the dead letters with their reason, audit row and what a replay would do."""
    views = service.list_dead_letters(environment.runtime())
    if output is Output.JSON:
        print_json(views)
        return
    if not views:
        console.print("No dead letters.")
        return
    for view in views:
        print_letter(view)


def _print(result: ReplayResult) -> None:
    console.print(f"{result.letter_id}: {result.outcome.value}. {result.message}",
                  style=STYLES[result.outcome], soft_wrap=True, highlight=False)  # fmt: skip


@dead_letters_app.command("replay")
def replay(
    letter_id: Annotated[str | None, typer.Argument(help="The dead letter's id "
                                                    "(see `dead-letters list`).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:  # fmt: skip
    """Send a dead-lettered run again once its cause is fixed (runs nothing twice)."""
    if every == (letter_id is not None):
        raise BadInputError("Name one dead letter's id (see `dead-letters list`) or use --all.")
    report = service.replay_dead_letters(environment.runtime(), letter_id, progress=_print)
    if not report.results:
        console.print("No dead letters.")
        return
    console.print(
        f"{report.count(ReplayOutcome.RESENT)} resent, {report.count(ReplayOutcome.REMOVED)} "
        f"removed (nothing left to run), {report.count(ReplayOutcome.KEPT)} kept."
    )


@dead_letters_app.command("discard")
def discard(
    letter_id: Annotated[str, typer.Argument(help="The dead letter's id "
                                             "(see `dead-letters list`).")],
) -> None:  # fmt: skip
    """Remove a dead letter without sending it (a message no worker can use)."""
    _print(service.discard_dead_letter(environment.runtime(), letter_id))
