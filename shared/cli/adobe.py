"""`adobe show`, `adobe mappings ...`, `adobe replacements ...`, `adobe filters ...`, `adobe
opt-out set`, `adobe egress set` (and `adobe file-drop ...`, its own module): the Adobe
Campaign configuration of an Adobe Campaign account (its data sync settings)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from shared.cli import environment, views
from shared.cli.adobe_file_drop import file_drop_app
from shared.cli.output import Output, OutputOption, console, emit
from shared.errors import BadInputError
from shared.service import adobe_config as service
from shared.service import adobe_ingress
from shared.storage.adobe_config_model import (
    AdobeConfig,
    CampaignOptOut,
    Comparison,
    FieldMapping,
    FilterRule,
    Join,
    OptOutMode,
    OptOutPair,
    Replacement,
    TableMapping,
)

adobe_app = typer.Typer(
    help="Adobe Campaign accounts: table and field mappings, filters, opt-out, egress.",
    no_args_is_help=True,
)
mappings_app = typer.Typer(help="Dynamics table -> Campaign resource mappings and their fields.",
                           no_args_is_help=True)  # fmt: skip
replacements_app = typer.Typer(help="Values sent to Campaign as other values.",
                               no_args_is_help=True)  # fmt: skip
filters_app = typer.Typer(help="Which records of a mapped table sync.", no_args_is_help=True)
opt_out_app = typer.Typer(help="Opt-out sync mode and attributes.", no_args_is_help=True)
egress_app = typer.Typer(help="Campaign email events as Dynamics activities.",
                         no_args_is_help=True)  # fmt: skip
adobe_app.add_typer(mappings_app, name="mappings")
adobe_app.add_typer(replacements_app, name="replacements")
adobe_app.add_typer(filters_app, name="filters")
adobe_app.add_typer(opt_out_app, name="opt-out")
adobe_app.add_typer(egress_app, name="egress")
adobe_app.add_typer(file_drop_app, name="file-drop")

AccountArg = Annotated[str, typer.Argument(help="Adobe Campaign account id (see `accounts list`).")]
TableArg = Annotated[str, typer.Argument(help="Dynamics table (logical name, e.g. contact).")]
CampaignFieldArg = Annotated[str, typer.Argument(help="Campaign field (technical name).")]
UncheckedOption = Annotated[
    bool,
    typer.Option(
        "--unchecked",
        help="Save without checking against Campaign (when it cannot be reached); check "
        "later with `adobe mappings check`.",
    ),
]
DynamicsFieldArg = Annotated[
    str, typer.Argument(help="Dynamics column, or a path through lookups (parentcustomerid.name).")
]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _tables_view(config: AdobeConfig) -> Group:
    parts: list[Table] = []
    for t in config.tables:
        title = (
            f"{t.dynamics_table} -> {t.campaign_resource} (key {t.campaign_key}; apply deletes "
            f"{_yes(t.apply_deletes)}; technical picklist values "
            f"{_yes(t.technical_picklist_values)})"
        )
        fields = views.new_table(views.name("Dynamics field"), views.name("Campaign field"),
                                 "Apply updates", title=title)  # fmt: skip
        for f in t.fields:
            fields.add_row(f.dynamics_field, f.campaign_field, _yes(f.apply_updates))
        parts.append(fields)
        parts.extend(_rules_view(t))
    return Group(*parts)


def _rules_view(t: TableMapping) -> list[Table]:
    parts = []
    if t.replacements:
        rows = views.new_table(views.name("Dynamics field"), "Value", "Sent as",
                               title=f"Replacements: {t.dynamics_table}")  # fmt: skip
        for r in t.replacements:
            rows.add_row(r.dynamics_field, r.value, r.new_value)
        parts.append(rows)
    if t.filter.rules:
        title = (
            f"Filter: {t.dynamics_table} (joined by {t.filter.join.value}; delete filtered out "
            f"{_yes(t.filter.delete_filtered_out)})"
        )
        rules = views.new_table("#", views.name("Dynamics field"), "Comparison", "Value",
                                title=title)  # fmt: skip
        for n, rule in enumerate(t.filter.rules, 1):
            rules.add_row(str(n), rule.dynamics_field, rule.comparison.value, rule.value)
        parts.append(rules)
    return parts


def _settings_view(config: AdobeConfig) -> Group:
    opt_out = views.new_table(views.name("Campaign attribute"), views.name("Dynamics field"),
                              title=f"Opt-out: {config.opt_out.mode.value}")  # fmt: skip
    for p in config.opt_out.pairs:
        opt_out.add_row(p.campaign_attribute.value, p.dynamics_field)
    e = config.egress
    egress = views.new_table("Setting", "Value", title="Egress (Campaign -> Dynamics timeline)")
    for label, value in (
        ("I/O Events journal", e.journal_url or "not set (adobe egress set --journal-url)"),
        ("IMS organization", e.ims_org_id or "not set (adobe egress set --ims-org-id)"),
        ("Send events", _yes(e.send)),
        ("Open events", _yes(e.open)),
        ("URL click events", _yes(e.click)),
        ("Bounce events (hard)", _yes(e.bounce)),
        ("Task on each click", f"{_yes(e.click_task)} (due in {e.click_task_due_days} day(s))"),
        ("Reconcile task on each bounce", _yes(e.bounce_task)),
    ):
        egress.add_row(label, value)
    return Group(opt_out, egress)


@adobe_app.command("show")
def show(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """The account's whole Adobe Campaign configuration."""
    config = service.show(environment.runtime(), account)
    emit(output, config, lambda: Group(_tables_view(config), _settings_view(config)))


def _print(changed: service.Changed) -> None:
    console().print(changed.message, soft_wrap=True)


@mappings_app.command("list")
def mappings_list(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """Table mappings with their fields, replacements and filters."""
    config = service.show(environment.runtime(), account)
    emit(output, config.tables, lambda: _tables_view(config))


@mappings_app.command("add-table")
def add_table(
    account: AccountArg,
    table: TableArg,
    resource: Annotated[str, typer.Argument(help="profile, or a custom resource (cus...).")],
    key: Annotated[str | None, typer.Option(help="Campaign column that holds the Dynamics id "
                                            "(custom resources; profiles use externalId).")] = None,
    unchecked: UncheckedOption = False,
) -> None:  # fmt: skip
    """Map a Dynamics table (change tracking on) to a Campaign resource (published); fixed
    once saved."""
    new = service.NewTable(dynamics_table=table, campaign_resource=resource, campaign_key=key)
    _print(service.add_table(environment.runtime(), account, new, unchecked=unchecked))


@mappings_app.command("remove-table")
def remove_table(account: AccountArg, table: TableArg) -> None:
    """Remove a table mapping (records already in Campaign stay)."""
    _print(service.remove_table(environment.runtime(), account, table))


@mappings_app.command("add-field")
def add_field(
    account: AccountArg,
    table: TableArg,
    dynamics_field: DynamicsFieldArg,
    campaign_field: CampaignFieldArg,
    apply_updates: Annotated[bool, typer.Option(help="Off: written by the initial load and "
                                                "replays only.")] = True,
    unchecked: UncheckedOption = False,
) -> None:  # fmt: skip
    """Map a Dynamics column to a Campaign field of the table's resource (a field Campaign
    lists for it, of a type the column fits)."""
    field = FieldMapping(dynamics_field=dynamics_field, campaign_field=campaign_field,
                         apply_updates=apply_updates)  # fmt: skip
    rt = environment.runtime()
    _print(service.add_field(rt, account, table, field, unchecked=unchecked))


@mappings_app.command("check")
def check(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """Check every saved field mapping against Campaign; exits 2 if any would fail."""
    checked = service.check(environment.runtime(), account)
    if output is Output.JSON:
        emit(output, checked, lambda: "")
    else:
        for line in [*checked.problems, checked.message]:
            console().print(line, soft_wrap=True, markup=False, highlight=False)
    if checked.problems:
        raise typer.Exit(2)


@mappings_app.command("remove-field")
def remove_field(account: AccountArg, table: TableArg, campaign_field: CampaignFieldArg) -> None:
    """Remove a field mapping (and its replacements)."""
    _print(service.remove_field(environment.runtime(), account, table, campaign_field))


@mappings_app.command("apply-updates")
def apply_updates(
    account: AccountArg,
    table: TableArg,
    campaign_field: CampaignFieldArg,
    value: Annotated[bool, typer.Argument(parser=lambda v: _on_off(v), metavar="on|off")],
) -> None:
    """Whether a field is written on every change (on) or only by initial loads and replays."""
    _print(service.set_apply_updates(environment.runtime(), account, table, campaign_field, value))


def _on_off(text: str) -> bool:
    if text.lower() not in ("on", "off"):
        raise typer.BadParameter(f"'{text}' is not on or off.")
    return text.lower() == "on"


@mappings_app.command("options")
def options(
    account: AccountArg,
    table: TableArg,
    apply_deletes: Annotated[bool | None, typer.Option("--apply-deletes/--no-apply-deletes",
                             help="Delete in Campaign what is deleted in Dynamics.")] = None,
    technical_values: Annotated[bool | None, typer.Option("--technical-values/--labels",
                                help="Send a choice's value, or its label.")] = None,
) -> None:  # fmt: skip
    """The table mapping's advanced switches."""
    change = service.TableOptions(apply_deletes=apply_deletes,
                                  technical_picklist_values=technical_values)  # fmt: skip
    _print(service.set_table_options(environment.runtime(), account, table, change))


@replacements_app.command("add")
def replacements_add(
    account: AccountArg,
    table: TableArg,
    dynamics_field: DynamicsFieldArg,
    value: Annotated[str, typer.Argument(help="The Dynamics value (a choice's value or label).")],
    new_value: Annotated[str, typer.Argument(help="What Campaign receives instead.")],
) -> None:
    """Send a mapped field's value as another value."""
    rule = Replacement(dynamics_field=dynamics_field, value=value, new_value=new_value)
    _print(service.add_replacement(environment.runtime(), account, table, rule))


@replacements_app.command("remove")
def replacements_remove(
    account: AccountArg, table: TableArg, dynamics_field: DynamicsFieldArg, value: str
) -> None:
    """Remove the replacement of a field's value."""
    rt = environment.runtime()
    _print(service.remove_replacement(rt, account, table, dynamics_field, value))


@filters_app.command("add")
def filters_add(
    account: AccountArg,
    table: TableArg,
    dynamics_field: Annotated[str, typer.Argument(help="Any column of the table.")],
    comparison: Annotated[Comparison, typer.Argument()],
    value: Annotated[str, typer.Argument(help="Not for is-empty / is-not-empty.")] = "",
) -> None:
    """Add a filter rule; records failing the filter do not sync."""
    rule = FilterRule(dynamics_field=dynamics_field, comparison=comparison, value=value)
    _print(service.add_filter_rule(environment.runtime(), account, table, rule))


@filters_app.command("remove")
def filters_remove(
    account: AccountArg,
    table: TableArg,
    number: Annotated[int, typer.Argument(help="The rule's # in `adobe mappings list`.")],
) -> None:
    """Remove a filter rule."""
    _print(service.remove_filter_rule(environment.runtime(), account, table, number))


@filters_app.command("set")
def filters_set(
    account: AccountArg,
    table: TableArg,
    join: Annotated[Join | None, typer.Option(help="How the rules combine.")] = None,
    delete_filtered_out: Annotated[bool | None, typer.Option(
        "--delete-filtered-out/--keep-filtered-out",
        help="Delete records in Campaign that are filtered out.")] = None,
) -> None:  # fmt: skip
    """How a table's filter rules combine, and what happens to records filtered out."""
    change = service.TableOptions(filter_join=join, delete_filtered_out=delete_filtered_out)
    _print(service.set_table_options(environment.runtime(), account, table, change))


def _pair(text: str) -> OptOutPair:
    attribute, sep, field = text.partition("=")
    if not sep:
        raise BadInputError(
            f"'{text}' is not ATTRIBUTE=FIELD (e.g. blackListEmail=donotbulkemail)."
        )
    try:
        parsed = CampaignOptOut.parse(attribute)
    except ValueError as error:
        raise BadInputError(str(error)) from error
    return OptOutPair(campaign_attribute=parsed, dynamics_field=field.strip())


@opt_out_app.command("set")
def opt_out_set(
    account: AccountArg,
    mode: Annotated[OptOutMode | None, typer.Option(help="Which way opt-outs sync.")] = None,
    pair: Annotated[list[str] | None, typer.Option(
        help="ATTRIBUTE=FIELD, e.g. blackListEmail=donotbulkemail (denyList... accepted); "
        "repeat it; given, it replaces every pair.")] = None,
) -> None:  # fmt: skip
    """Set the opt-out mode and the Campaign attribute <-> contact Boolean field pairs."""
    pairs = [_pair(p) for p in pair] if pair else None
    change = service.OptOutChange(mode=mode, pairs=pairs)
    _print(service.set_opt_out(environment.runtime(), account, change))


@egress_app.command("set")
def egress_set(
    account: AccountArg,
    send: Annotated[bool | None, typer.Option("--send/--no-send")] = None,
    open_: Annotated[bool | None, typer.Option("--open/--no-open")] = None,
    click: Annotated[bool | None, typer.Option("--click/--no-click")] = None,
    bounce: Annotated[bool | None, typer.Option("--bounce/--no-bounce")] = None,
    click_task: Annotated[bool | None, typer.Option("--click-task/--no-click-task")] = None,
    click_task_due_days: Annotated[int | None, typer.Option(min=0, max=365)] = None,
    bounce_task: Annotated[bool | None, typer.Option("--bounce-task/--no-bounce-task")] = None,
    journal_url: Annotated[str | None, typer.Option(
        help="The event registration's journaling endpoint (Developer Console: Events > the "
             "registration > Event Delivery Method).")] = None,
    ims_org_id: Annotated[str | None, typer.Option(
        help="The organization's IMS id, <id>@AdobeOrg.")] = None,
) -> None:  # fmt: skip
    """Which Campaign email events become timeline activities, the follow-up tasks, and the
    I/O Events journal the events are read from."""
    change = service.EgressChange(send=send, open=open_, click=click, bounce=bounce,
                                  click_task=click_task, click_task_due_days=click_task_due_days,
                                  bounce_task=bounce_task, journal_url=journal_url,
                                  ims_org_id=ims_org_id)  # fmt: skip
    _print(service.set_egress(environment.runtime(), account, change))


@adobe_app.command("replay")
def replay(
    account: AccountArg,
    table: Annotated[str, typer.Option(help="Dynamics table (logical name, e.g. contact).")],
    output: OutputOption = Output.TABLE,
) -> None:
    """Send every record of a mapped table to Campaign again at its next run (all mapped
    fields); refused for tables of 2,000,000 records or more."""
    answer = adobe_ingress.replay(environment.runtime(), account, table)
    emit(output, answer, lambda: answer.message)
