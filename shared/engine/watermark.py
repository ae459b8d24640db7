"""Watermarks for the "changes since the last run" sync types.

The window is captured before anything is read: `since` is the stored watermark (None on a
first run) and `started` the run's start, which becomes the next watermark only once every
change it covers is written. A change whose write failed for a reason that can pass (412,
throttling, a server error) holds the watermark back to that change's time; a source that could
not be read at all keeps the old one. The window travels in the run's cursor, so every slice
of a run reads the same range; the runner commits it when the run completes, never in a dry
run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from shared.storage.sync_state_repo import SyncStateRepository


class WatermarkWindow(BaseModel):
    key: str
    started: datetime
    since: datetime | None = None
    hold: datetime | None = None  # the earliest change that must be read again
    keep: bool = False  # something could not be read: the next run starts from `since` again

    def read_from(self, skew: timedelta) -> datetime | None:
        """Where reading starts: a margin before the watermark, for clock skew between sides."""
        return self.since - skew if self.since is not None else None

    def hold_back(self, moment: datetime | None) -> None:
        """A change at `moment` could not be written for a reason that can pass."""
        moment = moment or self.started
        if self.hold is None or moment < self.hold:
            self.hold = moment

    def keep_old(self) -> None:
        self.keep = True

    def next_value(self) -> datetime | None:
        """The watermark to store when the run completes (None: leave it as it is)."""
        if self.keep:
            return None
        if self.hold is not None and self.hold < self.started:
            return self.hold
        return self.started


class Watermarks:
    """Stored watermarks of one account (SyncState rows `<key>`, values as ISO text)."""

    def __init__(self, state: SyncStateRepository, account_id: str) -> None:
        self._state = state
        self._account_id = account_id

    def open(self, key: str, started: datetime) -> WatermarkWindow:
        stored = self._state.get_value(self._account_id, key)
        since = datetime.fromisoformat(stored) if isinstance(stored, str) and stored else None
        return WatermarkWindow(key=key, started=started, since=since)

    def commit(self, window: WatermarkWindow, now: datetime) -> None:
        value = window.next_value()
        if value is not None:
            self._state.set_value(self._account_id, window.key, value.isoformat(), now)
