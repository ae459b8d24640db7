"""The Email Send rows as the EmailSends sync reads them: its status values are the table's
choices, and the plan's filter takes only the account's rows still to do."""

from __future__ import annotations

from shared.dynamics_schema.engagement import SEND_STATUSES
from shared.sync.email_sends.rows import PENDING, SendStatus, pending_filter


def test_the_statuses_compared_in_code_are_the_tables_choices() -> None:
    assert [(int(s), s.name) for s in SendStatus] == [
        (o.value, o.label.upper().replace(" ", "_")) for o in SEND_STATUSES
    ]


def test_the_plan_takes_requested_rows_and_rows_left_part_way_of_this_account_only() -> None:
    assert PENDING == (SendStatus.REQUESTED, SendStatus.SYNCHRONISING_LIST, SendStatus.SENDING)
    assert pending_filter("o'neil") == (
        "dms_emailaccountid eq 'o''neil' and statecode eq 0 and "
        "(dms_status eq 1 or dms_status eq 2 or dms_status eq 3)"
    )
