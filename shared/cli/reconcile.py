"""`reconcile ACCOUNT [--list NAME]`: the drift report of shared/service/reconciliation.py,
with its progress on a terminal (a spinner saying what is being read)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from shared.cli import environment
from shared.cli.output import Output, OutputOption, print_json
from shared.service.reconciliation import ListDrift, reconcile

console = Console()


def _when(drift: ListDrift) -> str:
    mark = drift.unsubscribes_watermark
    return mark.strftime("%Y-%m-%d %H:%M:%S UTC") if mark else "never (no Unsubscribes run yet)"


def _print(drift: ListDrift) -> None:
    book = f" -> address book '{escape(drift.address_book)}'" if drift.address_book else ""
    state = "[green]agree[/green]" if drift.agree else "[red]DRIFT[/red]"
    console.print(f"List '{escape(drift.list_name)}'{book}: {state}", soft_wrap=True)
    if drift.problem:
        console.print(f"  {drift.problem}", soft_wrap=True, highlight=False)
        return
    lines = [
        f"{drift.members} members in Dynamics sent by the list sync, {drift.contacts} contacts "
        "in the address book",
        f"Unsubscribes watermark: {_when(drift)}",
    ]
    for label, count, names in (
        ("Only in Dynamics", drift.only_in_dynamics_count, drift.only_in_dynamics),
        ("Only in the address book", drift.only_in_platform_count, drift.only_in_platform),
        ("Unsubscribed since the watermark, still in the list",
         drift.unsubscribes_not_taken_count, drift.unsubscribes_not_taken),
    ):  # fmt: skip
        if count:
            more = f" and {count - len(names)} more" if count > len(names) else ""
            lines.append(f"{label} ({count}): {', '.join(names)}{more}")
    if drift.values_differ_count:
        lines.append(f"Mapped values that differ ({drift.values_differ_count}):")
        lines += [f"  {d.email} {d.label}: Dynamics {d.dynamics!r}, address book {d.platform!r}"
                  for d in drift.values_differ]  # fmt: skip
    for line in lines:
        console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)


def reconcile_command(
    account: Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")],
    list_name: Annotated[str | None, typer.Option("--list", help="Only this marketing list "
                                                  "(its name in Dynamics).")] = None,
    output: OutputOption = Output.TABLE,
) -> None:  # fmt: skip
    """Compare each email-activated list with its address book (members, mapped values) and
    the Unsubscribes watermark with the platform; print the drift report (reads only)."""
    rt = environment.runtime()
    # With JSON on stdout, the progress goes to stderr (shown on a terminal only, as always).
    shows = console if output is Output.TABLE else Console(stderr=True)
    with shows.status("Reading...") as status:
        report = reconcile(rt, account, list_name=list_name, progress=status.update)
    if output is Output.JSON:
        print_json(report)
        return
    if not report.lists:
        console.print(f"Account '{account}' has no active, email-activated marketing list.")
        return
    for drift in report.lists:
        _print(drift)
    verdict = "The two sides agree." if report.agree else "The two sides differ (see above)."
    console.print(verdict, style="green" if report.agree else "red")
