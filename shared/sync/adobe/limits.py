"""What Adobe's integration allows in an account's configuration, checked before it is saved:
at most 20 tables of 50 columns each, a link depth of 2 (table -> table -> table), 5 linked
columns per resource, each Dynamics table and each Campaign resource mapped once, each Campaign
field once per resource, profiles only from contacts keyed by externalId, custom resources
named `cus...`. The first rule broken raises, naming what to do instead."""

from __future__ import annotations

from collections import Counter

from shared.errors import BadInputError, ConflictError
from shared.storage.adobe_config_model import (
    CUSTOM_PREFIX,
    PROFILE,
    PROFILE_KEY,
    PROFILE_TABLE,
    AdobeConfig,
    OptOutSettings,
    TableMapping,
)

MAX_TABLES = 20
MAX_COLUMNS = 50
MAX_LINK_DEPTH = 2
MAX_LINKED_COLUMNS = 5


class AdobeConfigRefused(BadInputError):
    """A configuration Adobe's integration does not allow; nothing was saved."""


class AdobeMappedAlready(ConflictError):
    """A table, resource or field that is mapped once only is mapped already."""


def check(config: AdobeConfig) -> None:
    account = config.account_id
    if len(config.tables) > MAX_TABLES:
        raise AdobeConfigRefused(
            f"'{account}' maps {MAX_TABLES} Dynamics tables already, the most Adobe Campaign "
            f"allows: remove one first (`adobe mappings remove-table {account} TABLE`)."
        )
    for name, count in Counter(t.dynamics_table for t in config.tables).items():
        if count > 1:
            raise AdobeMappedAlready(
                f"The Dynamics table '{name}' is mapped already in '{account}': each table is "
                f"mapped once (see `adobe mappings list {account}`)."
            )
    resources = Counter(t.campaign_resource for t in config.tables)
    for table in config.tables:
        if resources[table.campaign_resource] > 1:
            raise AdobeMappedAlready(
                f"The Campaign resource '{table.campaign_resource}' is mapped already in "
                f"'{account}': each Campaign table is mapped from one Dynamics table."
            )
        check_table(account, table)
    check_opt_out(config.opt_out)


def _describe(table: TableMapping) -> str:
    return f"'{table.dynamics_table}' -> {table.campaign_resource}"


def check_table(account: str, table: TableMapping) -> None:
    _check_resource(table)
    if len(table.fields) > MAX_COLUMNS:
        raise AdobeConfigRefused(
            f"{_describe(table)} would map {len(table.fields)} columns; Adobe Campaign allows "
            f"{MAX_COLUMNS} a table: remove one first (`adobe mappings remove-field {account} "
            f"{table.dynamics_table} FIELD`)."
        )
    for mapped, count in Counter(f.campaign_field for f in table.fields).items():
        if count > 1:
            sources = ", ".join(
                f.dynamics_field for f in table.fields if f.campaign_field == mapped
            )
            raise AdobeMappedAlready(
                f"The Campaign field '{mapped}' of {table.campaign_resource} is mapped already "
                f"({sources}): several Dynamics fields cannot map to one Campaign field."
            )
    for mapping in table.fields:
        if mapping.link_depth > MAX_LINK_DEPTH:
            raise AdobeConfigRefused(
                f"'{mapping.dynamics_field}' goes through {mapping.link_depth} lookups; Adobe "
                f"Campaign allows a link depth of {MAX_LINK_DEPTH} (table -> table -> table)."
            )
    linked = [f.dynamics_field for f in table.fields if f.link_depth > 0]
    if len(linked) > MAX_LINKED_COLUMNS:
        raise AdobeConfigRefused(
            f"{_describe(table)} would have {len(linked)} linked columns; Adobe Campaign allows "
            f"{MAX_LINKED_COLUMNS} a resource ({', '.join(linked[:MAX_LINKED_COLUMNS])} are "
            "mapped already)."
        )
    if table.field_to(table.campaign_key) is None:
        raise AdobeConfigRefused(
            f"{_describe(table)} must map the Dynamics primary key to its key "
            f"'{table.campaign_key}': that mapping stays while the table is mapped."
        )
    mapped_fields = {f.dynamics_field for f in table.fields}
    seen: set[tuple[str, str]] = set()
    for rule in table.replacements:
        if rule.dynamics_field not in mapped_fields:
            raise AdobeConfigRefused(
                f"A replacement applies to a mapped field; '{rule.dynamics_field}' is not mapped "
                f"in {_describe(table)} (`adobe mappings add-field` first)."
            )
        if (rule.dynamics_field, rule.value) in seen:
            raise AdobeMappedAlready(
                f"'{rule.dynamics_field}' = '{rule.value}' has a replacement already in "
                f"{_describe(table)}: remove it first."
            )
        seen.add((rule.dynamics_field, rule.value))
    for condition in table.filter.rules:
        if condition.comparison.takes_value and condition.value == "":
            raise AdobeConfigRefused(
                f"The filter comparison '{condition.comparison.value}' needs a value "
                "(for an empty field use is-empty or is-not-empty)."
            )


def _check_resource(table: TableMapping) -> None:
    if table.campaign_resource == PROFILE or table.dynamics_table == PROFILE_TABLE:
        if table.campaign_resource != PROFILE:
            raise AdobeConfigRefused(
                f"Contacts map to profiles ({_describe(table)} is not contact -> profile): "
                "other Dynamics tables go to custom resources (cus...)."
            )
        if table.dynamics_table != PROFILE_TABLE:
            raise AdobeConfigRefused(
                f"Profiles are mapped from contacts only ({_describe(table)} is not "
                "contact -> profile); other Dynamics tables go to custom resources (cus...)."
            )
        if table.campaign_key != PROFILE_KEY:
            raise AdobeConfigRefused(
                f"Profiles are keyed by {PROFILE_KEY} (the contactid), not '{table.campaign_key}'."
            )
    elif not table.campaign_resource.startswith(CUSTOM_PREFIX):
        raise AdobeConfigRefused(
            f"'{table.campaign_resource}' is not a Campaign custom resource: their technical "
            f"names start with '{CUSTOM_PREFIX}' (e.g. cusLoyaltyCard)."
        )


def check_opt_out(settings: OptOutSettings) -> None:
    for attribute, count in Counter(p.campaign_attribute for p in settings.pairs).items():
        if count > 1:
            raise AdobeMappedAlready(
                f"The Campaign attribute {attribute.value} is mapped already: each opt-out "
                "attribute maps to one Dynamics field."
            )
    for field, count in Counter(p.dynamics_field for p in settings.pairs).items():
        if count > 1:
            raise AdobeMappedAlready(
                f"The Dynamics field '{field}' is mapped already: each opt-out field maps to one "
                "Campaign attribute."
            )
