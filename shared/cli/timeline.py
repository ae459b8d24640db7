"""`timeline show`: a contact's or lead's engagement timeline (seed 002), as a summary (name,
email, totals, first and last interaction) and the interactions in time order, UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, print_json
from shared.cli.values import utc_moment
from shared.service.timeline import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    KindFilter,
    Timeline,
    TimelineEvent,
    engagement_timeline,
)

timeline_app = typer.Typer(
    help="Engagement timelines of contacts and leads (from the records in Dynamics).",
    no_args_is_help=True,
)
KIND_LABEL = {"sent": "Sent", "opened": "Opened", "clicked": "Clicked",
              "page_view": "Page view", "form_response": "Form"}  # fmt: skip


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _event_line(event: TimelineEvent | None) -> str:
    return f"{_when(event.when)}  {event.title}" if event else "-"


def _summary(t: Timeline) -> Table:
    table = views.new_table(views.name(""), "", title=f"Engagement timeline: {t.account_id}")
    table.show_header = False
    totals = t.totals
    counts = [(label, value) for label, value in (
        ("emails sent", totals.emails_sent), ("opened", totals.emails_opened),
        ("clicks", totals.clicks), ("page views", totals.page_views),
        ("form responses", totals.form_responses),
    ) if value is not None]  # fmt: skip
    plus = "+" if totals.at_least else ""
    table.add_row("Name", t.person.name or "-")
    table.add_row("Email", t.person.email or "-")
    table.add_row("Record", f"{t.person.kind} {t.person.id}")
    table.add_row("Totals", ", ".join(f"{label} {value}{plus}" for label, value in counts))
    table.add_row("Last interaction", _event_line(t.last_interaction))
    table.add_row("First interaction", _event_line(t.first_interaction))
    return table


def _detail(event: TimelineEvent) -> str:
    lines = [event.detail] if event.detail else []
    lines += [f"{a.question}: {a.answer}" for a in event.answers]
    return "\n".join(lines)


def _events(t: Timeline) -> Table:
    table = views.new_table(views.name("When (UTC)"), views.name("Kind"), "What", "Detail",
                            title="Interactions, oldest first")  # fmt: skip
    for e in t.events:
        table.add_row(_when(e.when), KIND_LABEL[e.kind.value], e.title, _detail(e))
    return table


def render(timeline: Timeline, *, ranged: bool = False) -> Group:
    """The summary and the interactions as `timeline show` prints them (the demo prints Ada's
    with it); `ranged`: the view was limited to a time range."""
    if not timeline.events:
        said = "No interactions recorded" + (" in that range." if ranged else ".")
        return Group(_summary(timeline), Text(said))
    return Group(_summary(timeline), _events(timeline))


@timeline_app.command("show")
def timeline_show(
    account: Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")],
    contact: Annotated[str | None, typer.Option(help="The contact's id (GUID).")] = None,
    lead: Annotated[str | None, typer.Option(help="The lead's id (GUID).")] = None,
    kind: Annotated[list[KindFilter] | None, typer.Option(
        help="What to show (repeatable): emails (sends and opens), sent, opened, clicked, "
        "page_view, form_response, or all (default).", case_sensitive=False)] = None,
    since: Annotated[datetime | None, typer.Option("--from", parser=utc_moment, metavar="WHEN",
        help="Only interactions at or after this UTC time, e.g. 2026-11-01.")] = None,
    until: Annotated[datetime | None, typer.Option("--to", parser=utc_moment, metavar="WHEN",
        help="Only interactions before this UTC time, e.g. 2026-11-20T12:00.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (the newest).", min=1,
                                       max=MAX_LIMIT)] = DEFAULT_LIMIT,
    output: OutputOption = Output.TABLE,
) -> None:  # fmt: skip
    """A contact's or lead's interactions in the account, oldest first: sends, opens, clicks,
    page views and form responses, with totals and the first and last interaction."""
    timeline = engagement_timeline(
        environment.runtime(), account, contact_id=contact, lead_id=lead, kinds=kind or (),
        since=since, until=until, limit=limit,
    )  # fmt: skip
    if output is Output.JSON:
        print_json(timeline)
        return
    out = console()
    out.print(render(timeline, ranged=since is not None or until is not None))
    if timeline.events and timeline.earlier:
        # The same view, ending where this one starts (`--to` is exclusive).
        options = [f"--contact {contact}" if contact else f"--lead {lead}"]
        options += [f"--kind {k.value}" for k in kind or ()]
        options += [f"--from {since:%Y-%m-%dT%H:%M:%S}"] if since else []
        options.append(f"--to {timeline.events[0].when:%Y-%m-%dT%H:%M:%S}")
        older = " ".join(("timeline", "show", account, *options))
        plus = "+" if timeline.totals.at_least else ""
        out.print(f"And {timeline.earlier}{plus} earlier: `{older}`", soft_wrap=True)
