"""`timeline show` as an operator types it: the summary and the interactions in UTC, the
Emails option, JSON, the "earlier" hint that runs as printed, and one-line refusals."""

from __future__ import annotations

import json
import shlex

from sandbox.dataverse.state import DataverseState
from shared.accounts import EmailAccount
from shared.runtime import Runtime
from tests.cli.test_cli import BAD_INPUT, NOT_FOUND, error_line, invoke
from tests.fixtures.engagement_rows import Seeded, seed_page_views


def test_show_prints_the_summary_and_the_interactions_oldest_first(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    code, out = invoke("timeline", "show", "acme", "--contact", engagement.ada)

    assert code == 0, out
    assert "Ada Lovelace" in out and "ada@example.com" in out
    assert "emails sent 2, opened 1, clicks 2, page views 2, form responses 1" in out
    assert "2026-11-20 09:00:00  Email sent: Black Friday" in out  # last interaction
    assert "2026-11-01 09:00:00  Email sent: November news" in out  # first interaction
    events = out.split("Interactions, oldest first")[1]
    sent, answered, friday = (events.index(text) for text in (
        "Email sent: November news", "Form answered: Feedback", "Email sent: Black Friday",
    ))  # fmt: skip
    assert sent < answered < friday
    assert "How did you hear of us?: A friend" in out
    assert "earlier" not in out


def test_the_emails_option_and_json(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    code, out = invoke("timeline", "show", "acme", "--contact", engagement.ada, "--kind", "emails",
                       "--output", "json")  # fmt: skip

    assert code == 0, out
    timeline = json.loads(out)
    assert [e["kind"] for e in timeline["events"]] == ["sent", "opened", "opened", "sent"]
    assert timeline["events"][0]["when"] == "2026-11-01T09:00:00Z"
    assert timeline["totals"]["clicks"] is None and timeline["totals"]["emails_sent"] == 2
    assert timeline["person"] == {"kind": "contact", "id": engagement.ada, "name": "Ada Lovelace",
                                  "email": "ada@example.com"}  # fmt: skip


def test_a_long_history_names_the_command_that_shows_the_earlier_part(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded, dv: DataverseState
) -> None:
    seed_page_views(dv, engagement.quiet, 30)  # 00:00 .. 00:29 on 2026-10-01

    code, out = invoke("timeline", "show", "acme", "--contact", engagement.quiet, "--limit", "20")

    assert code == 0, out
    events = out.split("Interactions, oldest first")[1]
    assert events.count("https://example.com/page/") == 20 and "example.com/page/29 " in events
    hint = out.split("And 10 earlier: `")[1].split("`")[0]
    assert hint == f"timeline show acme --contact {engagement.quiet} --to 2026-10-01T00:10:00"
    code, out = invoke(*shlex.split(hint), "--output", "json")
    assert code == 0, out
    earlier = json.loads(out)
    assert [e["url"] for e in earlier["events"]] == [
        f"https://example.com/page/{n}" for n in range(10)
    ]
    assert earlier["earlier"] == 0


def test_empty_unknown_and_refused(
    sync_runtime: Runtime, acme: EmailAccount, engagement: Seeded
) -> None:
    code, out = invoke("timeline", "show", "acme", "--contact", engagement.quiet)
    assert code == 0 and "No interactions recorded." in out and "Quiet Reader" in out
    code, out = invoke("timeline", "show", "acme", "--lead", engagement.ada)
    assert code == NOT_FOUND and "check the id" in error_line(out)
    code, out = invoke("timeline", "show", "acme")
    assert code == BAD_INPUT and "Name one contact or one lead" in error_line(out)
    code, out = invoke("timeline", "show", "acme", "--contact", engagement.ada, "--from", "11/2026")
    assert code != 0 and "YYYY-MM-DD" in out
