"""`programs list | allow | disallow | mapped-users-only` and `users list | map | unmap`: the
Email Account's Programs and User Mapping tabs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, emit
from shared.service import programs
from shared.service.programs import ProgramsView, UsersView

programs_app = typer.Typer(
    help="Programs CRM users may enrol contacts and leads in.", no_args_is_help=True
)
users_app = typer.Typer(
    help="User mapping: Dotdigital users <-> Dynamics users.", no_args_is_help=True
)
AccountArg = Annotated[str, typer.Argument(help="Email account id (see `accounts list`).")]
ProgramArg = Annotated[int, typer.Argument(help="The program's id (see `programs list`).")]
PlatformUserArg = Annotated[
    int, typer.Argument(help="The Dotdigital user's id (see `users list`).")
]


class OnOff(StrEnum):
    ON = "on"
    OFF = "off"


def _programs_table(view: ProgramsView) -> Table:
    only = "on" if view.mapped_users_only else "off"
    title = f"Programs: {view.account_id} (mapped users only: {only})"
    table = views.new_table(views.name("Id"), "Program", "Status", "Allowed", title=title)
    for p in view.programs:
        table.add_row(str(p.id), p.name, p.status, "yes" if p.allowed else "")
    return table


@programs_app.command("list")
def programs_list(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """Every program of the account, active and inactive, and whether it is allowed."""
    view = programs.list_programs(environment.runtime(), account)
    emit(output, view, lambda: _programs_table(view))


@programs_app.command("allow")
def programs_allow(account: AccountArg, program: ProgramArg) -> None:
    """Allow an active program for CRM use (an inactive one is refused)."""
    console().print(programs.allow_program(environment.runtime(), account, program).message)


@programs_app.command("disallow")
def programs_disallow(account: AccountArg, program: ProgramArg) -> None:
    """Stop allowing a program: later enrolment requests for it are refused."""
    console().print(programs.disallow_program(environment.runtime(), account, program).message)


@programs_app.command("mapped-users-only")
def programs_mapped_users_only(
    account: AccountArg, value: Annotated[OnOff, typer.Argument(help="on or off.")]
) -> None:
    """Whether only mapped users (see `users list`) may enrol contacts and leads."""
    rt = environment.runtime()
    console().print(programs.set_mapped_users_only(rt, account, value is OnOff.ON).message)


def _users_tables(view: UsersView) -> Group:
    title = f"Dotdigital users: {view.account_id}"
    mapped = views.new_table(views.name("Id"), "Dotdigital user", "Email", "Dynamics user",
                             "Dynamics email", title=title)  # fmt: skip
    for u in view.platform_users:
        to = u.mapped_to
        mapped.add_row(str(u.id), u.name, u.email, to.name if to else "", to.email if to else "")
    people = views.new_table(views.name("Id"), "Dynamics user", "Email", "Disabled",
                             title="Dynamics users")  # fmt: skip
    for d in view.dynamics_users:
        people.add_row(d.id, d.name, d.email, "yes" if d.disabled else "")
    return Group(mapped, people)


@users_app.command("list")
def users_list(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """The account's Dotdigital users with the Dynamics user mapped to each, and the Dynamics
    users to choose from."""
    view = programs.list_users(environment.runtime(), account)
    emit(output, view, lambda: _users_tables(view))


@users_app.command("map")
def users_map(
    account: AccountArg,
    platform_user: PlatformUserArg,
    dynamics_user: Annotated[str, typer.Argument(help="The Dynamics user's id (systemuserid).")],
) -> None:
    """Map a Dotdigital user to a Dynamics user (replacing its earlier mapping)."""
    mapping = programs.map_user(environment.runtime(), account, platform_user, dynamics_user)
    console().print(
        f"Mapped '{mapping.platform_user_name}' to '{mapping.dynamics_user_name}'.", soft_wrap=True
    )


@users_app.command("unmap")
def users_unmap(account: AccountArg, platform_user: PlatformUserArg) -> None:
    """Remove a Dotdigital user's mapping."""
    console().print(programs.unmap_user(environment.runtime(), account, platform_user).message)
