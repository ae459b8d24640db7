"""The `adobe file-drop` commands (set, show, clear, restart): where an Adobe Campaign account's
initial transfer files go (SFTP or S3), the import workflow and its signal, the threshold, and
the transfers."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Group

from shared.cli import environment, views
from shared.cli.output import Output, OutputOption, console, emit
from shared.errors import BadInputError
from shared.service import adobe_file_drop as service
from shared.storage.adobe_file_drop import (
    DEFAULT_THRESHOLD,
    MIB,
    FileDropSettings,
    S3Destination,
    SftpDestination,
)

file_drop_app = typer.Typer(
    help="The file drop for initial transfers of large tables (SFTP or S3) and its workflow.",
    no_args_is_help=True,
)
AccountArg = Annotated[str, typer.Argument(help="Adobe Campaign account id (see `accounts list`).")]
_SEPARATORS = {"tab": "\t", "semicolon": ";"}


def _view(found: service.FileDropView) -> Group:
    settings = views.new_table("Setting", "Value", title=f"File drop of {found.account_id}")
    if found.settings is None:
        settings.add_row("Destination", "none: every initial sync goes over the API")
    else:
        s, d = found.settings, found.settings.destination
        settings.add_row("Destination", d.where)
        if isinstance(d, SftpDestination):
            settings.add_row("Host key", d.host_key[:40] + "...")
            credential = d.private_key_setting or d.password_setting
            kind = "private key" if d.private_key_setting else "password"
            settings.add_row("Credential", f"{kind} in app setting {credential}")
        elif d.access_key_id_setting:
            settings.add_row(
                "Credential",
                f"app settings {d.access_key_id_setting}, {d.secret_access_key_setting}",
            )
        settings.add_row("Workflow", f"{s.workflow_id}, signal '{s.signal_activity}'")
        settings.add_row("Threshold", f"{s.threshold:,} records")
        sep = "tab" if s.separator == "\t" else "semicolon"
        settings.add_row("File", f"{sep}-separated, gzip {'yes' if s.gzip else 'no'}, "
                         f"parts of {s.part_size // MIB} MiB")  # fmt: skip
    loads = views.new_table("Table", "Status", "File", "Parts", "Rows", "Left out", "Started",
                            title="Transfers")  # fmt: skip
    for load in found.loads:
        started = f"{load.started:%Y-%m-%d %H:%M}"
        loads.add_row(load.table, load.status.value, load.file, str(load.parts),
                      f"{load.rows:,}", str(load.rejected), started)  # fmt: skip
    return Group(settings, loads)


@file_drop_app.command("show")
def show(account: AccountArg, output: OutputOption = Output.TABLE) -> None:
    """The file drop settings and each table's transfer."""
    found = service.show(environment.runtime(), account)
    emit(output, found, lambda: _view(found))


@file_drop_app.command("set")
def set_(
    account: AccountArg,
    workflow: Annotated[str, typer.Option(help="The import workflow's id (e.g. WKF12).")],
    signal: Annotated[str, typer.Option(help="Its External signal activity.")] = "signal",
    sftp_host: Annotated[str | None, typer.Option(
        help="SFTP: <instance>.campaign.adobe.com.")] = None,
    sftp_port: Annotated[int, typer.Option(help="SFTP port.")] = 22,
    sftp_user: Annotated[str | None, typer.Option(help="SFTP user.")] = None,
    sftp_folder: Annotated[str, typer.Option(
        help="SFTP folder the workflow reads.")] = "d365_loads",
    sftp_host_key: Annotated[str | None, typer.Option(
        help="The server's public key, an OpenSSH line (ssh-ed25519 AAAA...).")] = None,
    sftp_key_setting: Annotated[str | None, typer.Option(
        help="NAME of the app setting holding the SFTP private key.")] = None,
    sftp_password_setting: Annotated[str | None, typer.Option(
        help="NAME of the app setting holding the SFTP password.")] = None,
    s3_bucket: Annotated[str | None, typer.Option(help="S3: the bucket.")] = None,
    s3_prefix: Annotated[str, typer.Option(help="S3 key prefix.")] = "d365_loads/",
    s3_region: Annotated[str, typer.Option(help="S3 region.")] = "us-east-1",
    s3_endpoint: Annotated[str | None, typer.Option(help="An S3-compatible endpoint URL.")] = None,
    s3_key_id_setting: Annotated[str | None, typer.Option(
        help="NAME of the app setting holding the access key id.")] = None,
    s3_secret_setting: Annotated[str | None, typer.Option(
        help="NAME of the app setting holding the secret access key.")] = None,
    threshold: Annotated[int, typer.Option(
        help="Tables with at least this many records start by file.")] = DEFAULT_THRESHOLD,
    separator: Annotated[str, typer.Option(help="tab or semicolon.")] = "tab",
    gzip: Annotated[bool, typer.Option("--gzip/--no-gzip")] = False,
    part_size_mib: Annotated[int, typer.Option(help="Part size in MiB (S3: at least 5).")] = 16,
) -> None:  # fmt: skip
    """Set the account's file drop (replacing any): SFTP (--sftp-host) or S3 (--s3-bucket)."""
    if (sftp_host is None) == (s3_bucket is None):
        raise BadInputError("give either --sftp-host (SFTP) or --s3-bucket (S3)")
    if sftp_host is not None and not sftp_host_key:
        raise BadInputError(
            "--sftp-host-key is required: the server's public key as an OpenSSH line (ask Adobe "
            "for it, or `ssh-keyscan <host>` and check its fingerprint); it is never trusted "
            "on first use"
        )
    if separator not in _SEPARATORS:
        raise BadInputError(f"--separator is tab or semicolon, not {separator!r}")
    try:
        destination: SftpDestination | S3Destination
        if sftp_host is not None:
            destination = SftpDestination(
                host=sftp_host, port=sftp_port, username=sftp_user or "", folder=sftp_folder,
                host_key=(sftp_host_key or "").strip(), private_key_setting=sftp_key_setting,
                password_setting=sftp_password_setting,
            )  # fmt: skip
        else:
            destination = S3Destination(
                bucket=s3_bucket or "", prefix=s3_prefix, region=s3_region,
                endpoint_url=s3_endpoint, access_key_id_setting=s3_key_id_setting,
                secret_access_key_setting=s3_secret_setting,
            )  # fmt: skip
        settings = FileDropSettings(
            destination=destination, workflow_id=workflow, signal_activity=signal,
            threshold=threshold, separator=_SEPARATORS[separator], gzip=gzip,
            part_size=part_size_mib * MIB,
        )  # fmt: skip
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        raise BadInputError(f"file drop settings refused: {problems}") from None
    changed = service.set_file_drop(environment.runtime(), account, settings)
    console().print(changed.message, soft_wrap=True)


@file_drop_app.command("clear")
def clear(account: AccountArg) -> None:
    """Remove the file drop: every initial sync goes over the API."""
    console().print(service.clear(environment.runtime(), account).message, soft_wrap=True)


@file_drop_app.command("restart")
def restart(
    account: AccountArg,
    table: Annotated[str, typer.Argument(help="Dynamics table (logical name).")],
) -> None:
    """Forget a table's transfer: its next initial sync writes a new file."""
    changed = service.restart_load(environment.runtime(), account, table)
    console().print(changed.message, soft_wrap=True)
