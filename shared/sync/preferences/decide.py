"""Which side wins for one (email, preference): the direction rule, without any I/O.

Every record with the email has a subscription row for the preference (or is about to get
one). A row's `synced` is the value both sides agreed on at the last sync; a row whose `opted_in`
differs from it was edited in Dynamics, at its `modifiedon`. The platform's opt-in has its own
date (`dateModifed`); it changed when it is dated after the last run's start (the incremental
read returned it: `changed`) or differs from what the rows last agreed on (a contact who opted
out and in again since is a change too, though its value is the agreed one). When both sides
changed, the later change wins; on a tie the platform wins: its opt-in is the
contact's own statement (a preference centre, a form), and Dotdigital is where emails are sent
from. When both sides already hold a Dynamics edit's value, the edit is the change (its date is
the row's last modification), so a run continued after it set the platform agrees with one that
was not. The outcome is one agreed value: rows that do not hold it are written, and the platform
is set when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Winner = Literal["platform", "dynamics", "none"]


@dataclass(frozen=True, slots=True)
class RowState:
    opted_in: bool | None
    synced: bool | None
    modified: datetime | None  # the row's modifiedon

    @property
    def edited(self) -> bool:
        """Changed in Dynamics since the last sync (the connector writes both columns)."""
        return self.opted_in is not None and self.opted_in != self.synced


@dataclass(frozen=True, slots=True)
class PlatformValue:
    opted_in: bool
    modified: datetime | None  # None: the contact never opted in or out of it
    changed: bool = False  # dated after the last run's start


@dataclass(frozen=True, slots=True)
class Decision:
    value: bool
    winner: Winner
    modified: datetime | None  # when the winning change was made
    set_platform: bool  # the platform does not hold `value` yet


def decide(rows: list[RowState], platform: PlatformValue | None) -> Decision | None:
    """The agreed value for one (email, preference). `platform` None: unknown (the contact's
    opt-in did not change since the last run and was not read), so only a Dynamics edit can
    decide. None: nothing to decide (no edit, platform unknown)."""
    edits = [r for r in rows if r.edited]
    latest_edit = max(edits, key=_when, default=None)
    platform_changed = platform is not None and (
        platform.changed or not rows or any(r.synced != platform.opted_in for r in rows)
    )
    if latest_edit is not None and latest_edit.opted_in is not None:
        dynamics_wins = (
            platform is None
            or not platform_changed
            or _when(latest_edit) > _when_platform(platform)
        )
        if dynamics_wins:
            value = latest_edit.opted_in
            set_platform = platform is None or platform.opted_in != value
            return Decision(value, "dynamics", latest_edit.modified, set_platform)
    if platform is None:
        return None
    if latest_edit is not None and latest_edit.opted_in == platform.opted_in:
        # Both sides hold the edit's value: the change is the Dynamics edit, dated as edited
        # (the platform's later date is this connector setting it, seen by a continuation).
        return Decision(platform.opted_in, "dynamics", latest_edit.modified, False)
    winner: Winner = "platform" if platform_changed else "none"
    return Decision(platform.opted_in, winner, platform.modified, False)


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _utc(moment: datetime | None) -> datetime:
    """Comparable across both sides (aware values in UTC, naive ones taken as UTC)."""
    if moment is None:
        return _EARLIEST
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(row: RowState) -> datetime:
    return _utc(row.modified)


def _when_platform(value: PlatformValue) -> datetime:
    return _utc(value.modified)
