"""`make demo` end to end, as a newcomer runs it (in its stop-after-the-audit mode): the scheduled
syncs, their audit, and a contact edit in Dynamics carried to its address book by the webhook;
run twice on one data folder, the second run shows the same picture as the first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from shared.azurite import DEFAULT_PORTS, PROJECT_ROOT, AzuriteProcess
from shared.cli.demo import _say_where

AUDIT_ROW = re.compile(r"^│ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d │(.*)$")
ISSUE_13_TYPES = ("CampaignStatistics", "Forms", "WebInsight", "ContactScoring", "EmailSends")


def _run_demo(data_dir: Path) -> str:
    # DEMO_FREE_PORTS: the test must not take 10000-10002 (a developer's demo may hold them).
    env = {**os.environ, "DEMO_DATA_DIR": str(data_dir), "COLUMNS": "220", "DEMO_FREE_PORTS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "shared", "demo", "--exit-after-audit"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _audit_rows(out: str) -> dict[str, str]:
    """The demo's audit table: each sync type's first run, without its start time. (A demo
    that spans a 5-minute mark also shows the next scheduled runs, newer, above them.)"""
    table = out.split("Sync audit: demo", 1)[1].split("Data labels", 1)[0]
    rows = [m.group(1) for line in table.splitlines() if (m := AUDIT_ROW.match(line))]
    return {row.split("│")[0].strip(): row for row in rows}  # newest first: the oldest stays


def _timeline_kinds(out: str) -> set[str]:
    """The Kind column of the printed timeline of Ada's interactions."""
    table = out.split("Interactions, oldest first", 1)[1].split("The same, in another", 1)[0]
    return {m.group(1).split("│")[0].strip() for line in table.splitlines()
            if (m := AUDIT_ROW.match(line))}  # fmt: skip


def test_demo_runs_the_scheduled_syncs_and_a_second_demo_shows_the_same(tmp_path: Path) -> None:
    data_dir = tmp_path / "azurite"
    out = _run_demo(data_dir)

    assert out.splitlines()[0].startswith("Starting from scratch: Azurite's data in ")
    assert "Sync audit: demo" in out
    assert "CrmMetadata" in out and "DataLabels" in out
    assert "Completed With Errors" in out  # the demo's deliberately invalid label
    assert "ERROR_DATAFIELD_INVALID - Failed to sync dataLabel Loyalty Tier! to Dotdigital" in out
    assert "mappable CRM fields stored" in out
    # The webhook step: registered against the local host, a CRM edit reaches the book.
    assert re.search(r"Webhook: Made \d+ changes", out)  # the counts: tests/pipeline
    assert "The change reached the address book 'Demo newsletter'" in out
    assert "FIRSTNAME = 'Augusta Ada'" in out
    assert any(data_dir.iterdir())  # data persisted where asked
    first = _audit_rows(out)
    assert len(first) == 11 and not any("│ Failed " in row for row in first.values()), first
    # Issue 13's reads of the seeded campaign, form, page views and scores.
    for sync_type in ISSUE_13_TYPES:
        assert first[sync_type].split("│")[1].strip() == "Completed", first[sync_type]
    assert (
        "2 email campaigns created, 1 updated: 3 send summaries, 1 clicks, 1 social bookmarks, "
        "1 ROI details, 1 page views" in first["CampaignStatistics"]
    )
    # The send from Dynamics: sent once, then read back into Dynamics (Ada's second send).
    # Sync Now's run, or a scheduled one that took the row first (the demo crossed 5 minutes).
    assert re.search(r"│ EmailSends +│ Completed +│ (Manual|Scheduled|Webhook) +│ 1 +│", out), out
    assert "Email Send 'Demo offers to Demo newsletter': Sent. Sent to address book" in out
    assert "│ 82 (Hot)" in out  # Ada's score, in the people table
    # Ada's engagement timeline: the campaigns, her page views, her form.
    assert _timeline_kinds(out) == {"Sent", "Opened", "Clicked", "Page view", "Form"}, out
    assert "emails sent 2, opened 1, clicks 1, page views 4, form responses 1" in out
    assert "Email sent: Demo offers" in out
    assert "Form answered: Demo preferences" in out
    assert "How often would you like to hear from us?: Monthly" in out
    assert re.search(r"timeline show demo --contact [0-9a-f-]{36}\n", out), out

    # The Adobe Campaign account beside it: every Adobe type ran; OptOut carried Margaret's
    # Campaign unsubscribe to Dynamics and her Dynamics "no post" to Campaign; EventEgress her
    # email events to her timeline.
    _assert_adobe_part(out)

    again = _run_demo(data_dir)  # Azurite's data from the first run is there

    assert _audit_rows(again) == first, again
    assert "The change reached the address book 'Demo newsletter'" in again
    _assert_adobe_part(again)


def _assert_adobe_part(out: str) -> None:
    adobe = out.split("Sync audit: demo-acs (Adobe Campaign)", 1)[1]
    rows = {m.group(1).split("│")[0].strip(): m.group(1) for line in adobe.splitlines()
            if (m := AUDIT_ROW.match(line))}  # fmt: skip
    assert "OptOut" in rows and not any("│ Failed " in row for row in rows.values()), rows
    assert rows["OptOut"].split("│")[1].strip() == "Completed", rows["OptOut"]
    assert "1 profiles updated in Campaign, 1 contacts updated in Dynamics" in rows["OptOut"]
    margaret = adobe.split("Opt-outs of margaret.hamilton@example.com (Bidirectional)", 1)[1]
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in margaret.splitlines()
             if line.startswith("│ blackList")]  # fmt: skip
    assert cells == [
        ["blackListEmail", "opted out", "donotbulkemail", "Do Not Allow"],
        ["blackListPhone", "-", "donotphone", "Allow"],
        ["blackListPostalMail", "opted out", "donotpostalmail", "Do Not Allow"],
        ["blackListFax", "-", "donotfax", "Allow"],
    ], margaret
    # EventEgress: Campaign's events about her on her timeline, and the click's follow-up task.
    timeline = margaret.split("Her timeline: Adobe Campaign activities", 1)[1]
    activities = [[c.strip() for c in line.split("│")[1:-1]] for line in timeline.splitlines()
                  if line.startswith("│ ")]  # fmt: skip
    assert activities == [
        ["Adobe Campaign Email Send", "2019LoyaltyCamp DM190"],
        ["Adobe Campaign Email Open", "2019LoyaltyCamp DM190"],
        ["Adobe Campaign Email URL Click", "2019LoyaltyCamp DM190"],
        [
            "Task",
            "Follow up: margaret.hamilton@example.com clicked https://www.example.com/loyalty",
        ],
    ], timeline


class _Ports:
    """Stands in for a running Azurite: only its ports and connection string are printed."""

    def __init__(self, ports: tuple[int, int, int]) -> None:
        self.ports = ports
        self.connection_string = AzuriteProcess.connection_string.fget(self)  # type: ignore[attr-defined]

    blob_port = property(lambda self: self.ports[0])
    queue_port = property(lambda self: self.ports[1])
    table_port = property(lambda self: self.ports[2])


@pytest.mark.parametrize(
    ("ports", "said"),
    [
        (DEFAULT_PORTS, "default ports 10000-10002: in Storage Explorer, Connect > Local storage"),
        ((41001, 41002, 41003), "Ports 10000-10002 are taken (another Azurite?)"),
    ],
)
def test_the_connection_string_is_one_line_in_a_narrow_terminal(
    ports: tuple[int, int, int], said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    console = Console(record=True, force_terminal=False)
    assert console.width == 40

    _say_where(console, _Ports(ports))  # type: ignore[arg-type]

    lines = console.export_text().splitlines()
    assert said in " ".join(lines)
    [line] = [line for line in lines if "DefaultEndpointsProtocol=" in line]
    assert line.strip() == _Ports(ports).connection_string
    assert f"TableEndpoint=http://127.0.0.1:{ports[2]}/devstoreaccount1;" in line
