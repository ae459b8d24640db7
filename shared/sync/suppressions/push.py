"""Dynamics -> platform: email suppression rows a CRM user added since the last run (source
Dynamics, or empty) become suppressions in the platform, a page of up to 1,000 rows per
`PUT suppress-contacts` call.

Rows of this account or of no account are read (a row without an account applies to every
account). An email the platform does not know (`notFound`) is unsubscribed instead, which adds
it to the account as an unsubscribed contact: otherwise a later import of that email would
mail it, and a subscribed contact with a Dynamics suppression row would look resubscribed.
Suppressing an email twice changes nothing, so a re-read page (a continuation, the
watermark's skew margin) is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.clients.dataverse.paging import Record
from shared.clients.dotdigital.client import DotdigitalClient
from shared.errors import ApiError
from shared.sync.suppressions.lookup import ROW_ID, account_filter
from shared.sync.suppressions.writes import refusal

SOURCE_DYNAMICS = 2
PUSH_COLUMNS = (ROW_ID, "dms_email", "createdon")
SKEW = timedelta(minutes=1)  # rows are read from a little before the watermark


def push_filter(account_id: str, since: datetime | None) -> str:
    where = (
        f"(dms_source eq {SOURCE_DYNAMICS} or dms_source eq null) and {account_filter(account_id)}"
    )
    if since is not None:
        moment = since.astimezone(UTC).replace(microsecond=0, tzinfo=None)  # down: reads more
        where += f" and createdon ge {moment.isoformat()}Z"
    return where


@dataclass
class PushResult:
    read: int = 0
    suppressed: int = 0
    added_unsubscribed: list[str] = field(default_factory=list)  # unknown to the platform before
    failures: dict[str, str] = field(default_factory=dict)  # email -> the platform's refusal


def push_page(platform: DotdigitalClient, rows: list[Record]) -> PushResult:
    emails = sorted({str(r.get("dms_email") or "").strip().lower() for r in rows} - {""})
    result = PushResult(read=len(rows))
    if not emails:
        return result
    outcome = platform.suppress_contacts(emails)
    result.suppressed = len(outcome.suppressed)
    for email in outcome.not_found:
        try:
            platform.unsubscribe(email)
        except ApiError as error:
            reason = refusal(error)
            if reason is None:
                raise
            result.failures[email] = reason  # e.g. not an email address: skipped and counted
            continue
        result.added_unsubscribed.append(email)
    result.suppressed += len(result.added_unsubscribed)
    return result
