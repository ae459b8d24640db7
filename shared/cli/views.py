"""Rich tables for what operators look at: accounts, schedules, audit, labels.

Nothing in them ends in "…": the columns operators look rows up by (account ids, sync types,
label names) never wrap, and any other cell too long for its column folds onto more lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.console import Console
from rich.table import Column, Table

from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditRecord
from shared.mappings.model import DataMapping
from shared.service.schedules import ScheduleView
from shared.storage.data_labels_repo import DataLabel


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def name(header: str) -> Column:
    """A column of names: never wrapped or cut, whatever the terminal's width."""
    return Column(header, no_wrap=True)


def new_table(*columns: str | Column, title: str) -> Table:
    """A table whose plain (str) columns fold what does not fit instead of cutting it."""
    return Table(
        *(Column(c, overflow="fold") if isinstance(c, str) else c for c in columns), title=title
    )


def end_live(console: Console) -> None:
    """After a rich Live display: off a terminal rich leaves its last line open, and the next
    print would run on from it."""
    if not console.is_terminal:
        console.line()


def accounts_table(accounts: Iterable[EmailAccount]) -> Table:
    table = new_table(
        name("Account id"), "Name", "Platform", "Default", "Disabled", "API user / client id",
        title="Email accounts",
    )  # fmt: skip
    for a in accounts:
        table.add_row(a.account_id, a.name, a.platform.value, "yes" if a.is_default else "",
                      "DISABLED" if a.disabled else "",
                      a.adobe.client_id if a.adobe else a.api_user)  # fmt: skip
    return table


def schedules_table(schedules: Iterable[ScheduleView], title: str) -> Table:
    table = new_table(name("Sync type"), "Shown as", "Interval", "Sync window (UTC)", "Status",
                      "Last sync", "Next sync", "Last result",
                      title=title)  # fmt: skip
    invalid = []
    for s in schedules:
        if s.problems:  # a hand-edited row: show what is stored and why it cannot be used
            invalid.append(s.fix)
            table.add_row(s.sync_type.value, s.shown_as, "INVALID", "; ".join(s.problems), "-",
                          when(s.last_sync), "-", s.last_result, style="red")  # fmt: skip
            continue
        interval = s.interval.value if s.interval else ""
        table.add_row(s.sync_type.value, s.shown_as, interval, s.window, s.status.value,
                      when(s.last_sync), when(s.next_sync), s.last_result)  # fmt: skip
    if invalid:
        table.caption = "\n".join(invalid)
    return table


def audit_table(records: Iterable[AuditRecord], title: str) -> Table:
    table = new_table("Started (UTC)", name("Sync type"), "Status", "Trigger", "Read",
                      "Created", "Updated", "Deleted", "Failed", "Message",
                      title=title)  # fmt: skip
    for r in records:
        c = r.counts
        table.add_row(
            when(r.started), str(r.sync_type), r.status.value, r.trigger, str(c.read),
            str(c.created), str(c.updated), str(c.deleted), str(c.failed), r.message,
        )  # fmt: skip
    return table


def details_table(details: Iterable[AuditDetail], title: str) -> Table:
    table = new_table("Item", "Status", "Read", "Created", "Updated", "Deleted", "Failed",
                      "Message", title=title)  # fmt: skip
    for d in details:
        c = d.counts
        table.add_row(d.item, d.status.value, str(c.read), str(c.created), str(c.updated),
                      str(c.deleted), str(c.failed), d.message)  # fmt: skip
    return table


def labels_table(labels: Iterable[DataLabel], title: str) -> Table:
    table = new_table(name("Name"), "Type", "Visibility", "Default value", "Origin", "Synchronised",
                      "Last error", title=title)  # fmt: skip
    for label in labels:
        table.add_row(
            label.name, label.type.value, "Private" if label.is_private else "Public",
            label.default_value or "", label.origin.value,
            "yes" if label.is_synchronised else "no", label.last_error,
        )  # fmt: skip
    return table


def mappings_table(mappings: Iterable[DataMapping], title: str) -> Table:
    table = new_table(name("Label"), "Entity", "Primary CRM field", "Linked CRM field", "Direction",
                      "Default", title=title)  # fmt: skip
    for m in sorted(mappings, key=lambda m: (m.entity.value, m.label)):
        linked = f"{m.linked_entity}.{m.linked_field}" if m.linked_field else ""
        table.add_row(m.label, m.entity.value, m.primary_field, linked, m.direction.value,
                      "yes" if m.is_default else "")  # fmt: skip
    return table
