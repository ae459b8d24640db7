"""The operator CLI against Azurite: what an operator types and reads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from shared.accounts import EmailAccount
from shared.azurite import DEV_ACCOUNT, DEV_KEY, PROJECT_ROOT
from shared.cli import app as cli
from shared.runtime import Runtime
from shared.sync.catalogue import catalogue
from shared.sync_types import SyncType
from tests.fixtures.adobe_accounts import save_adobe_account

runner = CliRunner()
# Exit codes by error category (shared.errors.HANDLING).
FATAL, BAD_INPUT, CONFLICT, NOT_FOUND, RETRIABLE = 1, 2, 3, 4, 75


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def error_line(out: str) -> str:
    """The one line a failed command prints; fails if there is anything else."""
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    return lines[0]


def test_help_lists_the_commands() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("accounts", "schedule", "sync-now", "audit", "labels", "host", "demo"):
        assert command in out


def test_accounts_list(runtime: Runtime, account: EmailAccount) -> None:
    code, out = invoke("accounts", "list")
    assert code == 0 and "acme" in out and "Acme marketing" in out


def test_schedule_set_shows_the_timetable_and_show_reads_it_back(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke(
        "schedule", "set", "acme", "DataLabels", "--interval", "4 hours",
        "--window", "mon-fri 18:00-08:00",
    )  # fmt: skip
    assert code == 0, out
    assert "2026-11-23 18:00:00" in out and "2026-11-23 22:00:00" in out
    assert "2026-11-24 02:00:00" in out

    code, out = invoke("schedule", "show", "acme")
    assert code == 0 and "4 hours" in out and "Monday to Friday" in out


def test_specific_time_with_another_interval_is_refused(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke(
        "schedule", "set", "acme", "DataLabels", "--interval", "4 hours",
        "--window", "specific 07:30",
    )  # fmt: skip
    assert code == BAD_INPUT and "Once a day" in error_line(out)
    assert runtime.schedules.get("acme", SyncType.DATA_LABELS).etag is None  # nothing saved


def test_a_time_that_cannot_be_read_is_one_line(runtime: Runtime, account: EmailAccount) -> None:
    code, out = invoke("schedule", "start", "acme", "CrmMetadata", "--date", "2026-12-01",
                       "--time", "7h30")  # fmt: skip
    assert code == BAD_INPUT
    assert error_line(out) == "Error: Cannot read the time '7h30': write it as HH:MM, e.g. 07:30"


def test_once_a_day_start_date(runtime: Runtime, account: EmailAccount) -> None:
    code, out = invoke(
        "schedule", "start", "acme", "CrmMetadata", "--date", "2026-12-01", "--time", "07:30"
    )
    assert code == 0, out
    assert "2026-12-01 07:30:00" in out


def test_sync_now_twice_says_nothing_changed(runtime: Runtime, account: EmailAccount) -> None:
    code, out = invoke("sync-now", "acme", "CrmMetadata")
    assert code == 0 and "added to the queue" in out
    code, out = invoke("sync-now", "acme", "CrmMetadata")
    assert code == CONFLICT and "nothing changed" in out


def test_sync_now_dry_run_queues_a_run_the_worker_audits_as_a_dry_run(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke("sync-now", "acme", "CrmMetadata", "--dry-run")
    assert code == 0 and "added to the queue (dry run" in out
    record = runtime.schedules.get("acme", SyncType.CRM_METADATA)
    assert record.run_trigger == "Dry run"


def test_a_sync_type_the_accounts_platform_lacks_is_refused(
    runtime: Runtime, account: EmailAccount
) -> None:
    save_adobe_account(runtime, "campaign", "Campaign")
    code, out = invoke("sync-now", "campaign", "DataLabels")
    assert code == BAD_INPUT
    assert "DataLabels is not available for AdobeCampaign accounts" in error_line(out)


def test_unknown_account_and_unavailable_sync_type_explain_themselves(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke("sync-now", "nobody", "CrmMetadata")
    assert code == NOT_FOUND
    assert error_line(out) == "Error: No email account 'nobody' (known accounts: acme)."
    code, out = invoke("schedule", "show", "nobody")
    assert code == NOT_FOUND and "No email account 'nobody'" in error_line(out)
    runtime.registry = catalogue().without(SyncType.FORMS)  # a version without Forms
    code, out = invoke("sync-now", "acme", "Forms")
    assert code == BAD_INPUT and "not available" in error_line(out)


def test_labels_add_refuses_duplicates(runtime: Runtime, account: EmailAccount) -> None:
    code, _ = invoke("labels", "add", "acme", "SALUTATION", "--default", "Customer")
    assert code == 0
    code, out = invoke("labels", "add", "acme", "salutation")
    assert code == CONFLICT and "already exists" in error_line(out)
    code, out = invoke("labels", "list", "acme")
    assert "SALUTATION" in out and "Customer" in out and "Private" in out


def test_audit_filters_by_sync_type_and_start_time(runtime: Runtime, account: EmailAccount) -> None:
    from datetime import timedelta

    from shared.audit import AuditRecord, AuditStatus, Counts
    from shared.storage.audit_repo import audit_row_key

    now = runtime.clock()
    for days, sync_type, message in (
        (1, SyncType.DATA_LABELS, "labels-recent"),
        (2, SyncType.CRM_METADATA, "crm-recent"),
        (10, SyncType.DATA_LABELS, "labels-old"),
    ):
        started = now - timedelta(days=days)
        runtime.audit.write(AuditRecord(
            account_id="acme", row_key=audit_row_key(started, message), run_id=message,
            sync_type=sync_type, trigger="Scheduled", status=AuditStatus.COMPLETED,
            started=started, finished=started, message=message, counts=Counts(read=3),
        ))  # fmt: skip

    code, out = invoke("audit", "acme", "--sync-type", "DataLabels")
    assert code == 0
    assert "labels-recent" in out and "labels-old" in out and "crm-recent" not in out
    since = (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S")
    code, out = invoke("audit", "acme", "--since", since)
    assert "labels-recent" in out and "crm-recent" in out and "labels-old" not in out


def test_mappings_add_and_list(runtime: Runtime, account: EmailAccount) -> None:
    from shared.storage.crm_fields_repo import CrmField
    from shared.storage.data_labels_repo import DataLabel

    company = CrmField(
        entity="lead", logical_name="companyname", display_name="Company", attribute_type="String"
    )
    runtime.crm_fields.upsert("acme", [company])
    runtime.data_labels.save("acme", DataLabel(name="COMPANY"))

    code, out = invoke("mappings", "add", "acme", "COMPANY", "--entity", "lead",
                       "--field", "companyname", "--direction", "Both")  # fmt: skip
    assert code == 0, out
    code, out = invoke("mappings", "add", "acme", "COMPANY", "--entity", "contact", "--field", "x")
    assert code == BAD_INPUT and "contact has no mappable field 'x'" in error_line(out)
    # A value pydantic refuses is one line too, naming the field.
    code, out = invoke("mappings", "add", "acme", "COMPANY", "--entity", "lead",
                       "--field", "Job Title")  # fmt: skip
    assert code == BAD_INPUT and "primary_field: String should match pattern" in error_line(out)
    code, out = invoke("mappings", "list", "acme")
    assert "COMPANY" in out and "companyname" in out and "Both" in out


def test_unreachable_table_storage_names_the_endpoint_in_one_line() -> None:
    """The real command, as an operator runs it, with nothing listening at the endpoint."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # holds the port without listening: connection refused
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}/{DEV_ACCOUNT}"
        env = {
            **os.environ,
            "AzureWebJobsStorage": f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
            f"AccountKey={DEV_KEY};TableEndpoint={endpoint};",
        }
        result = subprocess.run(
            [sys.executable, "-m", "shared", "accounts", "list"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert result.returncode == RETRIABLE
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: Cannot reach Table Storage at {endpoint}: is Azurite running? "
        "`make demo` starts it (or check AzureWebJobsStorage)."
    ]


def test_an_unexpected_error_is_one_line_too(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise KeyError("row without PartitionKey\nsecond line")

    monkeypatch.setattr(cli.schedules, "sync_now", broken)
    code, out = invoke("sync-now", "acme", "CrmMetadata")
    assert code == FATAL
    assert error_line(out).startswith("Error: unexpected KeyError: ")
