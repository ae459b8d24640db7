"""The Email Suppressions screen through the service layer: an account's suppression rows from
Dynamics, in pages, and Request Resubscribe carried through to the platform's answer."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from sandbox.clock import ManualClock as SandboxClock
from sandbox.dataverse.state import DataverseState
from sandbox.dotdigital.state import DotdigitalState
from shared.accounts import EmailAccount
from shared.errors import BadInputError, NotFoundError
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.service import suppressions
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DotdigitalSandbox

ROWS = "dms_emailsuppression"
CHALLENGED = 2


@pytest.fixture
def dd(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state


def _row(dv: DataverseState, email: str, account: str | None = "acme", **values: object) -> str:
    return dv.insert(ROWS, {"dms_email": email, "dms_emailaccountid": account,
                            "dms_reason": "Unsubscribed", **values})  # fmt: skip


def test_pages_list_the_accounts_rows_once_each(
    sync_runtime: Runtime, acme: EmailAccount, dv: DataverseState
) -> None:
    mine = {f"p{n}@example.org" for n in range(5)} | {"shared@example.org"}
    for email in sorted(mine - {"shared@example.org"}):
        _row(dv, email)
    _row(dv, "shared@example.org", account=None)  # names no account: every account's
    _row(dv, "other@example.org", account="globex")

    seen: list[str] = []
    cursor = None
    while True:
        page = suppressions.list_suppressions(sync_runtime, "acme", limit=2, cursor=cursor)
        assert len(page.suppressions) <= 2
        seen += [s.email for s in page.suppressions]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(mine)

    one = suppressions.list_suppressions(sync_runtime, "acme", email="P3@example.org ")
    assert [(s.email, s.reason) for s in one.suppressions] == [("p3@example.org", "Unsubscribed")]


def test_a_cursor_this_api_did_not_give_is_refused(
    sync_runtime: Runtime, acme: EmailAccount
) -> None:
    elsewhere = base64.urlsafe_b64encode(b"https://attacker.example/api/data/v9.2/x").decode()
    for cursor in ("not base64!", elsewhere):
        with pytest.raises(BadInputError, match="not one this API returned"):
            suppressions.list_suppressions(sync_runtime, "acme", cursor=cursor)


def test_request_resubscribe_flags_the_row_and_the_queued_run_asks_the_platform(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    sandbox_clock: SandboxClock, dv: DataverseState, dd: DotdigitalState,
) -> None:  # fmt: skip
    clock.now = datetime.fromtimestamp(sandbox_clock.now(), UTC)
    contact = dv.insert("contact", {"emailaddress1": "ada@example.com", "lastname": "Lovelace",
                                    "donotbulkemail": True})  # fmt: skip
    with dd.lock:
        platform = dd.store.add_contact("ada@example.com", when=dd.now())
        dd.store.suppress(platform, "Unsubscribed", dd.now())
    row_id = _row(dv, "ada@example.com", **{"dms_contactid@odata.bind": f"/contacts({contact})"})

    answer = suppressions.request_resubscribe(sync_runtime, "acme", row_id.upper())

    assert answer.sync_queued and answer.suppression.resubscribe_requested
    assert "the SuppressionLists run just queued asks the platform" in answer.message
    record = sync_runtime.schedules.get("acme", SyncType.SUPPRESSION_LISTS)
    assert record.status is ScheduleStatus.QUEUED
    host.drain()
    row = dv.row(ROWS, row_id)
    assert row is not None and row["dms_resubscriptionstatus"] == CHALLENGED
    assert dd.resubscriptions.confirmation_emails == ["ada@example.com"]


def test_another_accounts_row_is_not_found(
    sync_runtime: Runtime, acme: EmailAccount, dv: DataverseState
) -> None:
    row_id = _row(dv, "other@example.org", account="globex")
    with pytest.raises(NotFoundError, match="suppressions list acme"):
        suppressions.request_resubscribe(sync_runtime, "acme", row_id)
    row = dv.row(ROWS, row_id)
    assert row is not None and not row["dms_requestresubscribe"]
