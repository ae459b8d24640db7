"""Which runs a Dynamics change starts for an Adobe Campaign account.

Ingress: a Create, Update or Delete of a table the account maps starts its ProfileIngress
(contact) or CustomEntityIngress (the other tables) run; an Update only when it carries a
mapped column or a column a filter rule reads.

OptOut: an Update of a contact that carries a Boolean an opt-out pair maps (or that lists no
columns: a post over 256 KB) starts the account's OptOut run when its mode sends Dynamics's
changes to Campaign (DynamicsToCampaign, Bidirectional); a CampaignToDynamics or Disabled
account has nothing to send. A Create is left to the schedule: a new contact has no profile
until ingress makes one, and OptOut gives a new profile the contact's values when it meets it.

Each run reads the table's changes through change tracking, so one account-wide target stands
for every record changed meanwhile."""

from __future__ import annotations

from collections.abc import Iterable

from shared.accounts import EmailAccount, Platform
from shared.runtime import Runtime
from shared.storage.adobe_config_model import (
    PROFILE,
    PROFILE_TABLE,
    AdobeConfig,
    OptOutMode,
    TableMapping,
    default_profile_mapping,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.sync_types import SyncType
from shared.webhooks.event import ChangeEvent
from shared.webhooks.targets import Target, TargetKind

INGRESS_TYPES = frozenset({SyncType.PROFILE_INGRESS, SyncType.CUSTOM_ENTITY_INGRESS})
# The sync types a Dynamics change can start for an Adobe Campaign account.
ADOBE_TYPES = INGRESS_TYPES | {SyncType.OPT_OUT}
MESSAGES = frozenset({"Create", "Update", "Delete"})
# The modes whose OptOut run sends the contact's Booleans to Campaign.
TO_CAMPAIGN_MODES = frozenset({OptOutMode.DYNAMICS_TO_CAMPAIGN, OptOutMode.BIDIRECTIONAL})


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


def opt_out_columns(config: AdobeConfig) -> frozenset[str]:
    """The contact Booleans whose change the account's OptOut run sends to Campaign: its
    pairs' fields, or none when its mode sends nothing that way."""
    if config.opt_out.mode not in TO_CAMPAIGN_MODES:
        return frozenset()
    return frozenset(pair.dynamics_field.lower() for pair in config.opt_out.pairs)


def adobe_targets(rt: Runtime, account: EmailAccount, event: ChangeEvent) -> list[Target]:
    """The account's runs this event starts: its ingress's, its OptOut's."""
    if event.message not in MESSAGES:
        return []
    config = adobe_config(rt, account.account_id)
    types = [*_ingress_types(config, event), *_opt_out_types(config, event)]
    return [Target(sync_type, TargetKind.ALL, account_id=account.account_id) for sync_type in types]


def _ingress_types(config: AdobeConfig, event: ChangeEvent) -> list[SyncType]:
    mapping = config.table(event.entity)
    if mapping is None:
        return []
    changed = event.changed
    if (
        event.message == "Update"
        and not event.size_exceeded
        and not changed & read_columns(mapping)
    ):
        return []
    return [ingress_type(mapping)]


def _opt_out_types(config: AdobeConfig, event: ChangeEvent) -> list[SyncType]:
    if event.entity != PROFILE_TABLE or event.message != "Update":
        return []
    columns = opt_out_columns(config)
    if not columns:
        return []
    listed = {name.lower() for name in event.changed}
    if listed and not event.size_exceeded and not listed & columns:
        return []
    return [SyncType.OPT_OUT]


def _adobe_configs(rt: Runtime, accounts: Iterable[EmailAccount]) -> list[AdobeConfig]:
    return [
        adobe_config(rt, account.account_id)
        for account in accounts
        if account.platform is Platform.ADOBE_CAMPAIGN and not account.disabled
    ]


def ingress_tables(rt: Runtime, accounts: Iterable[EmailAccount]) -> dict[str, frozenset[str]]:
    """The tables the enabled Adobe Campaign accounts map, with the columns ingress reads:
    what the webhook's registration adds steps for."""
    tables: dict[str, frozenset[str]] = {}
    for config in _adobe_configs(rt, accounts):
        for mapping in config.tables:
            name = mapping.dynamics_table
            tables[name] = tables.get(name, frozenset()) | read_columns(mapping)
    return tables


def opt_out_fields(rt: Runtime, accounts: Iterable[EmailAccount]) -> frozenset[str]:
    """The contact Booleans whose change starts an enabled account's OptOut run: what the
    registration adds to contact's Update filter."""
    fields: frozenset[str] = frozenset()
    for config in _adobe_configs(rt, accounts):
        fields |= opt_out_columns(config)
    return fields
