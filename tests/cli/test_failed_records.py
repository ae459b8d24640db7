"""Failed records from the operator's side: a list sync where some members fail is listed
(key, reason), the cause is fixed, and one command syncs just those lists again."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.cli import app as cli
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.service import failed_records
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.helpers import audit_one_failed_record, run_scheduled

OUT = SyncType.MARKETING_LISTS_DATA_OUT
BAD = ("not-an-email", "also@not@valid")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "400"})
    return result.exit_code, result.output


def _members(dv: DataverseSandbox, list_id: str) -> list[str]:
    rows = [dv.state.row("contact", m) for m in sorted(dv.state.list_members(list_id))]
    return [r["contactid"] for r in rows if r and r["statecode"] == 0 and r.get("emailaddress1")]


def _book(dd: DotdigitalSandbox, name: str) -> set[str]:
    store = dd.state.store
    book = store.book_named(name)
    assert book is not None
    return {store.contacts[i].email or "" for i in book.members}


def _first_names(dd: DotdigitalSandbox, name: str) -> set[str]:
    store = dd.state.store
    book = store.book_named(name)
    assert book is not None
    return {str(store.contacts[i].data.get("FIRSTNAME")) for i in book.members}


def test_failed_members_are_listed_and_retried_in_a_run_of_just_their_list(
    sync_runtime: Runtime,
    host: LocalHost,
    clock: ManualClock,
    lists: dict[str, str],
    dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:
    rt, dv, dd = sync_runtime, dataverse_sandbox, dotdigital_sandbox
    broken = _members(dv, lists["Newsletter"])[:2]
    for contact_id, email in zip(broken, BAD, strict=True):
        dv.state.update("contact", contact_id, {"emailaddress1": email})
    first = run_scheduled(rt, host, clock, "acme", OUT)
    assert first.status is AuditStatus.COMPLETED_WITH_ERRORS and first.counts.failed == 2

    code, out = invoke("failed", "list", "acme")
    assert code == 0, out
    [run] = failed_records.failed_runs(rt, "acme")
    assert (run.run_id, run.failed) == (first.run_id, 2)
    assert {(r.item, r.key) for r in run.records} == {("Newsletter", email) for email in BAD}
    assert all("InvalidEmail" in r.reason for r in run.records)
    for shown in (first.run_id, *BAD, "InvalidEmail", "failed retry"):
        assert shown in out
    code, out = invoke("failed", "list", "acme", "-o", "json")
    assert code == 0 and json.loads(out) == [run.model_dump(mode="json")]

    fixed = ["fixed.one@example.com", "fixed.two@example.com"]
    for contact_id, email in zip(broken, fixed, strict=True):
        dv.state.update("contact", contact_id, {"emailaddress1": email})
    # A change in the other list meanwhile: not the retry's business (the next run's).
    lead_id = sorted(dv.state.list_members(lists["Prospects"]))[0]
    dv.state.update("lead", lead_id, {"firstname": "Renamed"})
    clock.advance(minutes=1)
    code, out = invoke("failed", "retry", "acme")
    assert code == 0 and "Retry run" in out and "queued for Newsletter" in out, out
    host.drain()

    retry = rt.audit.recent("acme", sync_type=OUT, limit=1)[0]
    assert (retry.trigger, retry.status) == ("Retry", AuditStatus.COMPLETED)
    assert retry.counts.created == 2 and retry.counts.failed == 0
    assert [d.item for d in rt.audit.details("acme", retry.row_key)] == ["Newsletter"]
    assert "Renamed" not in _first_names(dd, "Prospects")
    assert set(fixed) <= _book(dd, "Newsletter")
    assert rt.webhook_targets.pending("acme", OUT) == []  # the retry run took them
    assert not host.drain()  # and no further run followed

    code, out = invoke("failed", "list", "acme")
    assert code == 0 and "No failed records" in out
    run_scheduled(rt, host, clock, "acme", OUT)  # the next run takes the other change
    assert "Renamed" in _first_names(dd, "Prospects")
    code, out = invoke("failed", "retry", "acme")
    assert code == 0 and "nothing to retry" in out


def test_a_type_that_cannot_be_targeted_says_so_and_queues_nothing(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost
) -> None:
    rt = sync_runtime
    audit_one_failed_record(
        rt, "acme", SyncType.SUPPRESSION_LISTS, "x@example.com", "Dynamics refused the write"
    )

    code, out = invoke("failed", "list", "acme", "--sync-type", "SuppressionLists")
    assert code == 0 and "x@example.com" in out and "Dynamics refused the write" in out
    code, out = invoke("failed", "retry", "acme")
    assert code == 0, out
    assert "SuppressionLists runs cannot be limited to records" in out
    assert "sync-now acme SuppressionLists" in out
    assert host.drain() == 0


def test_failed_of_an_unknown_account_or_run_is_one_line(sync_runtime: Runtime,
                                                        acme: EmailAccount) -> None:  # fmt: skip
    code, out = invoke("failed", "list", "nosuch")
    assert code == 4 and "No email account 'nosuch'" in out
    code, out = invoke("failed", "retry", "acme", "--run", "r-404")
    assert code == 4 and "No run 'r-404'" in out
