"""What ingress keeps per mapped table between runs (a SyncState row `<SyncType>-<table>`):
whether the next run loads every record (the first run, a replay) or reads changes, the
Dataverse delta link, where an unfinished change read continues (so a failed or killed run
goes on from its last page, not from the first), and the records waiting for a parent that
Campaign did not have yet. A replay request is a row of its own (`...-Replay`), taken by the
table's next run, so a run in progress cannot overwrite it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.clients.dataverse.changes import ChangePosition
from shared.storage.sync_state_repo import SyncStateRepository
from shared.sync_types import SyncType

# A Table property holds 32K characters: 500 ids of 36 are about 20K with the JSON around them.
MAX_WAITING = 500


class TableState(BaseModel):
    load: bool = True  # True: the next read loads every record (first run or replay)
    delta_link: str | None = None  # the change read of the next run (None: a full read)
    position: ChangePosition | None = None  # an unfinished read continues here
    waiting: list[str] = Field(default_factory=list)  # ids whose parent Campaign lacked
    # More records waited than `waiting` holds: the next run reads the whole table again
    # (load), so no record is dropped.
    reread: bool = False


def state_key(sync_type: SyncType, dynamics_table: str) -> str:
    return f"{sync_type.value}-{dynamics_table}"


def replay_key(sync_type: SyncType, dynamics_table: str) -> str:
    return f"{state_key(sync_type, dynamics_table)}-Replay"


class IngressStates:
    """The tables' states of one account and sync type."""

    def __init__(self, repo: SyncStateRepository, account_id: str, sync_type: SyncType) -> None:
        self._repo = repo
        self._account_id = account_id
        self._sync_type = sync_type

    def load(self, dynamics_table: str) -> TableState:
        raw = self._repo.get_value(self._account_id, state_key(self._sync_type, dynamics_table))
        return TableState.model_validate(raw) if isinstance(raw, dict) else TableState()

    def save(self, dynamics_table: str, state: TableState, now: datetime) -> None:
        self._repo.set_value(
            self._account_id,
            state_key(self._sync_type, dynamics_table),
            state.model_dump(mode="json"),
            now,
        )

    def replay_requested(self, dynamics_table: str) -> str | None:
        """When a replay was asked for (ISO text), None if none is pending."""
        raw = self._repo.get_value(self._account_id, replay_key(self._sync_type, dynamics_table))
        return raw if isinstance(raw, str) and raw else None

    def request_replay(self, dynamics_table: str, now: datetime) -> None:
        key = replay_key(self._sync_type, dynamics_table)
        self._repo.set_value(self._account_id, key, now.isoformat(), now)

    def take_replay(self, dynamics_table: str, now: datetime) -> None:
        self._repo.set_value(self._account_id, replay_key(self._sync_type, dynamics_table), "", now)
