"""Which ingress run a Dynamics change starts for an Adobe Campaign account: a Create, Update
or Delete of a table the account maps starts its ProfileIngress (contact) or
CustomEntityIngress (the other tables) run; an Update only when it carries a mapped column or
a column a filter rule reads. The run itself reads the table's changes through change
tracking, so one account-wide target stands for every record changed meanwhile."""

from __future__ import annotations

from collections.abc import Iterable

from shared.accounts import EmailAccount, Platform
from shared.runtime import Runtime
from shared.storage.adobe_config_model import (
    PROFILE,
    AdobeConfig,
    TableMapping,
    default_profile_mapping,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent
from shared.webhooks.targets import Target, TargetKind

INGRESS_TYPES = frozenset({SyncType.PROFILE_INGRESS, SyncType.CUSTOM_ENTITY_INGRESS})
MESSAGES = frozenset({"Create", "Update", "Delete"})


def adobe_config(rt: Runtime, account_id: str) -> AdobeConfig:
    stored = rt.repository(AdobeConfigRepository).load(account_id)
    if stored is not None:
        return stored.config
    return AdobeConfig(account_id=account_id, tables=[default_profile_mapping()])


def read_columns(mapping: TableMapping) -> frozenset[str]:
    """The columns of the table whose change matters to ingress: every mapped column (the
    first step of a linked one) and every column a filter rule reads; not the key, which
    every Update carries."""
    columns = {f.dynamics_field.split(".", 1)[0] for f in mapping.fields}
    columns |= {rule.dynamics_field for rule in mapping.filter.rules}
    key = mapping.field_to(mapping.campaign_key)
    return frozenset(columns - {key.dynamics_field} if key is not None else columns)


def ingress_type(mapping: TableMapping) -> SyncType:
    if mapping.campaign_resource == PROFILE:
        return SyncType.PROFILE_INGRESS
    return SyncType.CUSTOM_ENTITY_INGRESS


def ingress_targets(rt: Runtime, account: EmailAccount, event: ChangeEvent) -> list[Target]:
    if event.message not in MESSAGES:
        return []
    mapping = adobe_config(rt, account.account_id).table(event.entity)
    if mapping is None:
        return []
    changed = event.changed
    if (
        event.message == "Update"
        and not event.size_exceeded
        and not changed & read_columns(mapping)
    ):
        return []
    return [Target(ingress_type(mapping), TargetKind.ALL, account_id=account.account_id)]


def ingress_tables(rt: Runtime, accounts: Iterable[EmailAccount]) -> dict[str, frozenset[str]]:
    """The tables the enabled Adobe Campaign accounts map, with the columns ingress reads:
    what the webhook's registration adds steps for."""
    tables: dict[str, frozenset[str]] = {}
    for account in accounts:
        if account.platform is not Platform.ADOBE_CAMPAIGN or account.disabled:
            continue
        for mapping in adobe_config(rt, account.account_id).tables:
            name = mapping.dynamics_table
            tables[name] = tables.get(name, frozenset()) | read_columns(mapping)
    return tables
