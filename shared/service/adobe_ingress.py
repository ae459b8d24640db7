"""Replay of an ingress table: the table's next run loads every record again (all mapped
fields, inactive records included), as Adobe's "Replay Data" does. Refused when the table has
2,000,000 records or more, Adobe's own limit for a replay."""

from __future__ import annotations

from pydantic import BaseModel

from shared.errors import BadInputError
from shared.runtime import Runtime
from shared.service.adobe_config import NotMapped, require_adobe_account, show
from shared.storage.adobe_config_model import PROFILE
from shared.sync.adobe.ingress.state import IngressStates
from shared.sync_types import SyncType

REPLAY_LIMIT = 2_000_000


class ReplayTooLarge(BadInputError):
    """A replay Adobe's integration does not allow: the table is too large."""


class ReplayAnswer(BaseModel):
    account_id: str
    dynamics_table: str
    sync_type: SyncType
    records: int
    message: str


def replay(rt: Runtime, account_id: str, dynamics_table: str) -> ReplayAnswer:
    """Ask for the table's next ingress run to load every record again."""
    require_adobe_account(rt, account_id)
    config = show(rt, account_id)
    mapping = config.table(dynamics_table)
    if mapping is None:
        raise NotMapped(
            f"The Dynamics table '{dynamics_table}' is not mapped in '{account_id}' "
            f"(see `adobe mappings list {account_id}`)."
        )
    records = rt.dataverse().total_record_count(dynamics_table)
    if records >= REPLAY_LIMIT:
        raise ReplayTooLarge(
            f"'{dynamics_table}' has {records:,} records; Adobe Campaign allows a replay of a "
            f"table of fewer than {REPLAY_LIMIT:,} (its records still sync as they change)."
        )
    sync_type = (
        SyncType.PROFILE_INGRESS
        if mapping.campaign_resource == PROFILE
        else SyncType.CUSTOM_ENTITY_INGRESS
    )
    IngressStates(rt.state, account_id, sync_type).request_replay(dynamics_table, rt.clock())
    return ReplayAnswer(
        account_id=account_id,
        dynamics_table=dynamics_table,
        sync_type=sync_type,
        records=records,
        message=(
            f"The next {sync_type.value} run of '{account_id}' sends all {records:,} "
            f"'{dynamics_table}' records to {mapping.campaign_resource} again, every mapped "
            f"field included (`sync-now {account_id} {sync_type.value}` starts it now)."
        ),
    )
