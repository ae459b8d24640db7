"""The demo's email send from Dynamics: a CRM user creates an Email Send row (a campaign to the
`Demo newsletter` list), EmailSends syncs the list and sends the campaign to its address book,
then CampaignStatistics brings the send's summaries into Dynamics (so Ada's timeline shows it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console

from shared.audit import AuditRecord, AuditStatus
from shared.cli import views
from shared.dynamics_schema.engagement import EMAIL_CAMPAIGN, EMAIL_SEND, SEND_STATUSES
from shared.pipeline.admin import sync_now
from shared.runtime import Runtime
from shared.sync.email_sends.rows import SendStatus
from shared.sync_types import SyncType

if TYPE_CHECKING:  # the sandboxes load only when the demo runs
    from sandbox.dataverse.state import DataverseState

WAIT_SECONDS = 60.0


def run_now(rt: Runtime, account_id: str, sync_type: SyncType) -> AuditRecord | None:
    """Sync Now, and the run's audit once it ended (None: not within WAIT_SECONDS). A run of
    the type already queued or running (a demo crossing a 5-minute mark) ends first: it may
    have read Dynamics before the demo's change."""
    deadline = time.monotonic() + WAIT_SECONDS
    since = rt.clock()
    while not sync_now(rt, account_id, sync_type).accepted:
        if time.monotonic() > deadline:
            return None
        time.sleep(0.25)
        since = rt.clock()
    while time.monotonic() < deadline:
        runs = rt.audit.recent(account_id, sync_type=sync_type, since=since, limit=1)
        if runs and runs[0].status is not AuditStatus.IN_PROGRESS:
            return runs[0]
        time.sleep(0.25)
    return None


def _campaign_row(dataverse: DataverseState, account_id: str, name: str) -> str | None:
    """The Email Campaign row CampaignStatistics created for the platform's campaign."""
    for row_id in list(dataverse.table(EMAIL_CAMPAIGN.logical_name).rows):
        row = dataverse.row(EMAIL_CAMPAIGN.logical_name, row_id) or {}
        if row.get("dms_name") == name and row.get("dms_emailaccountid") == account_id:
            return row_id
    return None


def show_send(
    console: Console,
    rt: Runtime,
    dataverse: DataverseState,
    *,
    account_id: str,
    campaign: str,
    marketing_list: tuple[str, str],
) -> bool:
    """Request the send of `campaign` to `marketing_list` (id, name) as a CRM user would, run
    EmailSends and then CampaignStatistics; True if the row ended Sent."""
    list_id, list_name = marketing_list
    campaign_row = _campaign_row(dataverse, account_id, campaign)
    if campaign_row is None:
        console.print(f"[red]No Email Campaign row for {campaign!r} in Dynamics.[/red]")
        return False
    requested_at = rt.clock()
    send_id = dataverse.insert(
        EMAIL_SEND.logical_name,
        {
            "dms_name": f"{campaign} to {list_name}",
            "dms_emailaccountid": account_id,
            "dms_status": int(SendStatus.REQUESTED),
            "dms_emailcampaignid@odata.bind": f"/{EMAIL_CAMPAIGN.entity_set}({campaign_row})",
            "dms_listid@odata.bind": f"/lists({list_id})",
        },
    )
    console.print(
        f"\nA CRM user sends the campaign {campaign!r} to the marketing list {list_name!r} from "
        "Dynamics (an Email Send row, status Requested); Sync Now runs EmailSends, then "
        "CampaignStatistics reads the send back...",
        soft_wrap=True,
    )
    runs = [run_now(rt, account_id, t) for t in (SyncType.EMAIL_SENDS,
                                                  SyncType.CAMPAIGN_STATISTICS)]  # fmt: skip
    # A scheduled or webhook-started EmailSends run may take the row before Sync Now does
    # (a demo crossing a 5-minute mark): every EmailSends run since the request is shown.
    sends = rt.audit.recent(account_id, sync_type=SyncType.EMAIL_SENDS, since=requested_at, limit=5)
    shown = [r for r in sends if r.status is not AuditStatus.IN_PROGRESS] + [
        r for r in runs[1:] if r is not None
    ]
    console.print(views.audit_table(shown, "Email send runs"))
    row = dataverse.row(EMAIL_SEND.logical_name, send_id) or {}
    status = {o.value: o.label for o in SEND_STATUSES}.get(row.get("dms_status") or 0, "-")
    console.print(f"Email Send {row.get('dms_name')!r}: {status}. {row.get('dms_message') or ''}")
    return None not in runs and row.get("dms_status") == SendStatus.SENT
