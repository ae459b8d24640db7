"""The CLI's refusals as an operator reads them: each names a command that exists and runs, a
value's expected form, and what to type instead."""

from __future__ import annotations

import json
import shlex

import pytest
from azure.data.tables import UpdateMode

from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.sync_types import SyncType
from tests.cli.test_cli import BAD_INPUT, CONFLICT, error_line, invoke
from tests.fixtures.crm_fields import marketing_crm_fields


def command_in(line: str) -> list[str]:
    """The backticked command a message names, as words to run."""
    return shlex.split(line.split("`")[1])


def test_a_duplicate_mapping_names_the_delete_that_runs(
    runtime: Runtime, account: EmailAccount
) -> None:
    runtime.crm_fields.upsert("acme", marketing_crm_fields())
    assert invoke("labels", "add", "acme", "Job Role")[0] == 0
    add = ("mappings", "add", "acme", "Job Role", "--entity", "contact", "--field", "jobtitle")
    assert invoke(*add)[0] == 0

    code, out = invoke(*add)
    assert code == CONFLICT
    assert error_line(out) == (
        "Error: This mapping already exists: Job Role <-> contact.jobtitle (ToPlatform). To "
        "change it, delete it with `mappings delete acme 'Job Role' --entity contact`, then add "
        "the new one."
    )
    code, out = invoke(*command_in(out))
    assert code == 0, out
    assert invoke(*add)[0] == 0


def test_a_mapping_to_a_missing_label_names_the_commands_that_make_it(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke("mappings", "add", "acme", "TIER", "--entity", "contact", "--field", "x")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: No CRM metadata is stored for account 'acme' yet: run "
        "`sync-now acme CrmMetadata` first."
    )
    runtime.crm_fields.upsert("acme", marketing_crm_fields())
    code, out = invoke("mappings", "add", "acme", "TIER", "--entity", "contact",
                       "--field", "jobtitle")  # fmt: skip
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: There is no data label 'TIER': create it first with `labels add acme TIER`, or "
        "run `sync-now acme DataLabels` if it exists in Dotdigital."
    )
    assert invoke(*command_in(out))[0] == 0
    code, out = invoke("mappings", "add", "acme", "TIER", "--entity", "contact",
                       "--field", "jobtitle")  # fmt: skip
    assert code == 0, out


def test_a_specific_time_with_another_interval_says_what_to_choose(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke("schedule", "set", "acme", "DataLabels", "--interval", "4 hours",
                       "--window", "specific 07:30")  # fmt: skip
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: The Specific time window is only available for the interval Once a day, not "
        "4 hours: choose Once a day, or a window of days and times such as 'mon-fri 07:30-09:00'"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("schedule", "start", "acme", "CrmMetadata", "--date", "2026-12-01", "--time", "25:30"),
         "Error: Cannot read the time '25:30': a time of day is 00:00 to 23:59 (UTC); write it "
         "as HH:MM, e.g. 07:30"),
        (("schedule", "start", "acme", "CrmMetadata", "--date", "1 Dec", "--time", "07:30"),
         "Error: Cannot read the date '1 Dec': write it as YYYY-MM-DD, e.g. 2026-12-01"),
        (("audit", "acme", "--since", "yesterday"),
         "Error: Cannot read the UTC date and time 'yesterday': write it as YYYY-MM-DD or "
         "YYYY-MM-DDTHH:MM, e.g. 2026-11-20 or 2026-11-20T07:30"),
        (("audit", "acme", "--since", "2026-11-20T7"),
         "Error: Cannot read the UTC date and time '2026-11-20T7': write it as YYYY-MM-DD or "
         "YYYY-MM-DDTHH:MM, e.g. 2026-11-20 or 2026-11-20T07:30"),
    ],
)  # fmt: skip
def test_a_date_or_time_that_cannot_be_read_shows_its_form(
    runtime: Runtime, account: EmailAccount, args: tuple[str, ...], line: str
) -> None:
    code, out = invoke(*args)
    assert code == BAD_INPUT
    assert error_line(out) == line


def test_since_reads_a_date_or_a_date_and_time(runtime: Runtime, account: EmailAccount) -> None:
    for since in ("2026-11-20", "2026-11-20T07:30", "2026-11-20 07:30:15", "2026-11-20T07:30Z"):
        code, out = invoke("audit", "acme", "--since", since)
        assert code == 0, out


SECONDS_REFUSED = "schedules keep whole minutes; write it as HH:MM, e.g. 07:30"


@pytest.mark.parametrize(
    ("args", "typed"),
    [
        (("schedule", "set", "acme", "CrmMetadata", "--interval", "Once a day",
          "--window", "specific 07:30:45"), "07:30:45"),
        (("schedule", "set", "acme", "CrmMetadata", "--interval", "4 hours",
          "--window", "mon-fri 18:00-08:00:30"), "08:00:30"),
        (("schedule", "start", "acme", "CrmMetadata", "--date", "2026-12-01",
          "--time", "07:30:15"), "07:30:15"),
    ],
)  # fmt: skip
def test_times_with_seconds_are_refused_not_cut(
    runtime: Runtime, account: EmailAccount, args: tuple[str, ...], typed: str
) -> None:
    code, out = invoke(*args)
    assert code == BAD_INPUT
    assert error_line(out) == f"Error: Cannot read the time '{typed}': {SECONDS_REFUSED}"
    assert runtime.schedules.get("acme", SyncType.CRM_METADATA).etag is None  # nothing saved


def test_a_stored_window_is_read_as_before(runtime: Runtime, account: EmailAccount) -> None:
    """Only what an operator types is refused: rows already stored (or edited in Storage
    Explorer) with seconds still read and run."""
    assert invoke("schedule", "set", "acme", "CrmMetadata", "--interval", "Once a day",
                  "--window", "specific 07:30")[0] == 0  # fmt: skip
    table = runtime.tables.client("SyncSchedules")
    entity = dict(table.get_entity("acme", "CrmMetadata"))
    entity["SpecificTimeUtc"] = "07:30:45"
    table.update_entity(entity, mode=UpdateMode.REPLACE)  # what Storage Explorer does
    code, out = invoke("schedule", "show", "acme", "--output", "json")
    assert code == 0, out
    crm = next(s for s in json.loads(out) if s["sync_type"] == "CrmMetadata")
    assert (crm["window"], crm["problems"]) == ("Specific time (07:30:45 UTC)", [])
