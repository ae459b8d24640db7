"""`suppressions list | resubscribe` as an operator types them (Azurite, Dataverse sandbox)."""

from __future__ import annotations

import json

from shared.accounts import EmailAccount
from shared.runtime import Runtime
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.cli.test_cli import NOT_FOUND, error_line, invoke
from tests.fixtures.sandboxes import DataverseSandbox

ROWS = "dms_emailsuppression"


def test_list_pages_and_resubscribe(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox
) -> None:
    dv = dataverse_sandbox.state
    ids = [dv.insert(ROWS, {"dms_email": f"p{n}@example.org", "dms_emailaccountid": "acme",
                            "dms_reason": "HardBounced"}) for n in range(3)]  # fmt: skip

    code, out = invoke("suppressions", "list", "acme", "--limit", "2")
    assert code == 0, out
    assert out.count("HardBounced") == 2 and "More: `suppressions list acme --cursor " in out
    cursor = out.split("--cursor ")[1].split("`")[0]
    code, out = invoke("suppressions", "list", "acme", "--limit", "2", "--cursor", cursor)
    assert code == 0 and out.count("HardBounced") == 1 and "More:" not in out
    code, out = invoke("suppressions", "list", "acme", "--limit", "2", "--output", "json")
    assert code == 0, out
    page = json.loads(out)  # the service's SuppressionPage, one document
    assert [s["reason"] for s in page["suppressions"]] == ["HardBounced"] * 2
    assert page["next_cursor"] == cursor

    code, out = invoke("suppressions", "resubscribe", "acme", ids[0])
    assert code == 0, out
    assert "Resubscribe requested for p0@example.org" in out
    row = dv.row(ROWS, ids[0])
    assert row is not None and row["dms_requestresubscribe"] is True
    record = sync_runtime.schedules.get("acme", SyncType.SUPPRESSION_LISTS)
    assert record.status is ScheduleStatus.QUEUED

    code, out = invoke("suppressions", "list", "acme", "--email", "nobody@example.org")
    assert code == 0 and "No email suppressions in acme for nobody@example.org." in out
    code, out = invoke("suppressions", "list", "nosuch")
    assert code == NOT_FOUND and "No email account 'nosuch'" in error_line(out)
