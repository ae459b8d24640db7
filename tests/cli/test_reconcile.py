"""`reconcile` after an incident: after a clean sync the two sides agree; after hand edits on
each side the drift report lists exactly those."""

from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from shared.cli import app as cli
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.service.reconciliation import reconcile
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import run_scheduled


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "400"})
    return result.exit_code, result.output


def _emails(dv: DataverseSandbox, list_id: str, entity: str) -> list[tuple[str, str]]:
    """(record id, email) of the list's active members with an email, in a stable order."""
    rows = [dv.state.row(entity, m) for m in sorted(dv.state.list_members(list_id))]
    return [(r[f"{entity}id"], r["emailaddress1"]) for r in rows
            if r and r["statecode"] == 0 and r.get("emailaddress1")]  # fmt: skip


def test_clean_sync_agrees_and_hand_edits_on_each_side_are_listed(
    sync_runtime: Runtime,
    host: LocalHost,
    clock: ManualClock,
    lists: dict[str, str],
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:
    rt, dv, dd = sync_runtime, dataverse_sandbox, dotdigital_sandbox
    run_scheduled(rt, host, clock, "acme", SyncType.MARKETING_LISTS_DATA_OUT)
    run_scheduled(rt, host, clock, "acme", SyncType.UNSUBSCRIBES)  # sets its watermarks

    code, out = invoke("reconcile", "acme")
    assert code == 0, out
    assert "List 'Newsletter' -> address book 'Newsletter': agree" in out
    assert "List 'Prospects' -> address book 'Prospects': agree" in out
    assert out.strip().endswith("The two sides agree.")
    newsletter = _emails(dv, lists["Newsletter"], "contact")
    prospects = _emails(dv, lists["Prospects"], "lead")
    report = reconcile(rt, "acme")
    assert [(d.list_name, d.members, d.contacts) for d in report.lists] == [
        ("Newsletter", len(newsletter), len(newsletter)),
        ("Prospects", len(prospects), len(prospects)),
    ]

    # Dynamics: a member renamed, a contact added to the list.
    renamed_id, renamed_email = newsletter[0]
    dv.state.update("contact", renamed_id, {"firstname": "Renamed"})
    outsider_id = next(
        c for c in dv.state.table("contact").rows
        if c not in dv.state.list_members(lists["Newsletter"])
        and (dv.state.row("contact", c) or {}).get("emailaddress1")
        and (dv.state.row("contact", c) or {}).get("statecode") == 0
    )  # fmt: skip
    dv.state.add_list_member(lists["Newsletter"], outsider_id)
    joined = (dv.state.row("contact", outsider_id) or {})["emailaddress1"].lower()
    # The platform: a contact added to the Prospects book, one who unsubscribed from it.
    store = dd.state.store
    book = store.book_named("Prospects")
    assert book is not None
    now = time.time()
    store.join(book, store.add_contact("walk.in@example.com", when=now), now)
    leaver = prospects[1][1].lower()
    leaving = store.by_email(leaver)
    assert leaving is not None
    store.unsubscribe_from_book(book, leaving, now)

    report = reconcile(rt, "acme", list_name=None)
    news, pros = report.lists
    assert not report.agree
    assert (news.only_in_dynamics, news.only_in_platform) == ([joined], [])
    # Dataverse recomputes fullname: both mapped values differ.
    full_name = (dv.state.row("contact", renamed_id) or {})["fullname"]
    assert {(d.email, d.label, d.dynamics) for d in news.values_differ} == {
        (renamed_email.lower(), "FIRSTNAME", "Renamed"),
        (renamed_email.lower(), "FULLNAME", full_name),
    }
    assert news.unsubscribes_not_taken == []
    assert (pros.only_in_dynamics, pros.only_in_platform) == ([], ["walk.in@example.com"])
    assert pros.values_differ == [] and pros.unsubscribes_not_taken == [leaver]

    code, out = invoke("reconcile", "acme", "--list", "Prospects")
    assert code == 0, out
    assert "List 'Prospects' -> address book 'Prospects': DRIFT" in out
    assert "Only in the address book (1): walk.in@example.com" in out
    assert f"Unsubscribed since the watermark, still in the list (1): {leaver}" in out
    assert "Newsletter" not in out and out.strip().endswith("The two sides differ (see above).")
    code, out = invoke("reconcile", "acme", "--list", "Prospects", "--output", "json")
    assert code == 0, out
    drift = json.loads(out)  # the service's DriftReport, nothing else on stdout
    assert drift == reconcile(rt, "acme", list_name="Prospects").model_dump(mode="json")
    assert drift["lists"][0]["only_in_platform"] == ["walk.in@example.com"]

    code, out = invoke("reconcile", "acme", "--list", "Nosuch")
    assert code == 2 and "No active, email-activated marketing list 'Nosuch'" in out
