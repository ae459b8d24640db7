"""The Adobe Campaign configuration of an Adobe Campaign account: table and field mappings with
replacements, filters and switches, the opt-out mode and attributes, the egress switches.
Every change is checked (the account's platform, the Dynamics table and columns through the
Dataverse metadata, Adobe's limits) before anything is saved; it applies from the next run."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from shared.accounts import EmailAccount, Platform
from shared.errors import BadInputError, NotFoundError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.service import adobe_campaign_fields as campaign
from shared.service import adobe_dynamics as dynamics
from shared.storage.adobe_config_model import (
    CAMPAIGN_NAME,
    DYNAMICS_NAME,
    PROFILE,
    PROFILE_KEY,
    AdobeConfig,
    EgressSettings,
    FieldMapping,
    FilterRule,
    Join,
    OptOutMode,
    OptOutPair,
    Replacement,
    TableMapping,
    default_profile_mapping,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository
from shared.sync.adobe import limits

OPT_OUT_TABLE = "contact"  # opt-outs sync on contact <-> profile only


class NotAdobeAccount(BadInputError):
    pass


class NotMapped(NotFoundError):
    pass


class Changed(BaseModel):
    message: str


UNCHECKED = " Not checked against Campaign: run `adobe mappings check {account}` once it answers."


class NewTable(BaseModel):
    dynamics_table: str = Field(pattern=DYNAMICS_NAME, max_length=100)
    campaign_resource: str = Field(pattern=CAMPAIGN_NAME, max_length=100)
    # The Campaign column for the Dynamics primary key; profiles always use externalId.
    campaign_key: str | None = Field(default=None, pattern=CAMPAIGN_NAME, max_length=100)


class TableOptions(BaseModel):
    """Switches of one table mapping; a field left out keeps its value."""

    apply_deletes: bool | None = None
    technical_picklist_values: bool | None = None
    filter_join: Join | None = None
    delete_filtered_out: bool | None = None


class OptOutChange(BaseModel):
    mode: OptOutMode | None = None
    pairs: list[OptOutPair] | None = None  # replaces every pair when given


class EgressChange(BaseModel):
    journal_url: str | None = None  # the event registration's journaling endpoint
    ims_org_id: str | None = None  # the organization's IMS id, <id>@AdobeOrg
    send: bool | None = None
    open: bool | None = None
    click: bool | None = None
    bounce: bool | None = None
    click_task: bool | None = None
    click_task_due_days: int | None = Field(default=None, ge=0, le=365)
    bounce_task: bool | None = None


def require_adobe_account(rt: Runtime, account_id: str) -> EmailAccount:
    account = admin.require_account(rt, account_id)
    if account.platform is not Platform.ADOBE_CAMPAIGN:
        raise NotAdobeAccount(
            f"'{account_id}' is a {account.platform.value} account: the Adobe Campaign "
            "configuration exists only for Adobe Campaign accounts."
        )
    return account


def _repo(rt: Runtime) -> AdobeConfigRepository:
    return rt.repository(AdobeConfigRepository)


def show(rt: Runtime, account_id: str) -> AdobeConfig:
    """The stored configuration, or the defaults (contact -> profile) before the first save."""
    require_adobe_account(rt, account_id)
    stored = _repo(rt).load(account_id)
    if stored is not None:
        return stored.config
    return AdobeConfig(account_id=account_id, tables=[default_profile_mapping()])


def _edit(
    rt: Runtime,
    account_id: str,
    change: Callable[[AdobeConfig], str],
    against_campaign: Callable[[AdobeConfig], None] | None = None,
) -> Changed:
    """Load, change a copy, check Adobe's limits on the result, then (`against_campaign`)
    what Campaign has, so that a mistake found locally needs no call; save it whole."""
    require_adobe_account(rt, account_id)
    stored = _repo(rt).load(account_id)
    config = (
        stored.config.model_copy(deep=True)
        if stored is not None
        else AdobeConfig(account_id=account_id, tables=[default_profile_mapping()])
    )
    message = change(config)
    limits.check(config)
    if against_campaign is not None:
        against_campaign(config)
    _repo(rt).save(config, stored.etag if stored is not None else None)
    return Changed(message=message)


def _mapped(config: AdobeConfig, dynamics_table: str) -> TableMapping:
    table = config.table(dynamics_table)
    if table is None:
        raise NotMapped(
            f"The Dynamics table '{dynamics_table}' is not mapped in '{config.account_id}' "
            f"(see `adobe mappings list {config.account_id}`)."
        )
    return table


# Tables ------------------------------------------------------------------------------------------


def add_table(rt: Runtime, account_id: str, new: NewTable, *, unchecked: bool = False) -> Changed:
    """Map a Dynamics table to a Campaign resource, keyed by the table's primary key; the
    resource and its key field are checked against Campaign unless `unchecked`."""
    account = require_adobe_account(rt, account_id)
    is_profile = new.campaign_resource == PROFILE
    key = PROFILE_KEY if is_profile else new.campaign_key
    if key is None:
        raise BadInputError(
            f"A custom resource needs the Campaign column that holds the Dynamics id "
            f"(its CRM ID key), e.g. --key crmId for {new.campaign_resource}."
        )
    info = dynamics.table_info(rt, new.dynamics_table)
    table = TableMapping(
        dynamics_table=new.dynamics_table,
        campaign_resource=new.campaign_resource,
        campaign_key=key,
        fields=[FieldMapping(dynamics_field=info.primary_id, campaign_field=key)],
    )

    def change(config: AdobeConfig) -> str:
        config.tables.append(table)
        return (
            f"Mapped '{table.dynamics_table}' -> {table.campaign_resource} (key {key} <- "
            f"{info.primary_id}); it applies from the next ingress run."
        ) + (UNCHECKED.format(account=account_id) if unchecked else "")

    def against_campaign(config: AdobeConfig) -> None:
        with campaign.reaching(account, f"{new.campaign_resource}.{key}"):
            campaign.fields_of(rt, account).check_field(
                new.campaign_resource, key, "Uniqueidentifier", info.primary_id
            )

    return _edit(rt, account_id, change, None if unchecked else against_campaign)


def remove_table(rt: Runtime, account_id: str, dynamics_table: str) -> Changed:
    def change(config: AdobeConfig) -> str:
        table = _mapped(config, dynamics_table)
        config.tables.remove(table)
        return (
            f"Removed the mapping of '{dynamics_table}' -> {table.campaign_resource}; records "
            "already in Campaign stay there."
        )

    return _edit(rt, account_id, change)


def add_field(
    rt: Runtime,
    account_id: str,
    dynamics_table: str,
    field: FieldMapping,
    *,
    unchecked: bool = False,
) -> Changed:
    """Map a column to a field of the table's resource; unless `unchecked`, the field must be
    one Campaign lists for the resource, of a type the column's fits."""
    account = require_adobe_account(rt, account_id)
    column_type = dynamics.check_column(rt, dynamics_table, field.dynamics_field)

    def change(config: AdobeConfig) -> str:
        table = _mapped(config, dynamics_table)
        table.fields.append(field)
        updates = "" if field.apply_updates else " (initial load and replays only)"
        return (
            f"Mapped {dynamics_table}.{field.dynamics_field} -> "
            f"{table.campaign_resource}.{field.campaign_field}{updates}."
        ) + (UNCHECKED.format(account=account_id) if unchecked else "")

    def against_campaign(config: AdobeConfig) -> None:
        resource = _mapped(config, dynamics_table).campaign_resource
        with campaign.reaching(account, f"{resource}.{field.campaign_field}"):
            campaign.fields_of(rt, account).check_field(
                resource, field.campaign_field, column_type, field.dynamics_field
            )

    return _edit(rt, account_id, change, None if unchecked else against_campaign)


def check(rt: Runtime, account_id: str) -> campaign.Checked:
    """Every saved field mapping against Campaign as it is now (after `--unchecked` saves, or a
    change in Campaign's data model); changes nothing."""
    account = require_adobe_account(rt, account_id)
    return campaign.check_saved(rt, account, show(rt, account_id).tables)


def _field(config: AdobeConfig, dynamics_table: str, campaign_field: str) -> FieldMapping:
    table = _mapped(config, dynamics_table)
    found = table.field_to(campaign_field)
    if found is None:
        raise NotMapped(
            f"No field of '{dynamics_table}' is mapped to {table.campaign_resource}."
            f"{campaign_field} (see `adobe mappings list {config.account_id}`)."
        )
    return found


def remove_field(rt: Runtime, account_id: str, dynamics_table: str, campaign_field: str) -> Changed:
    def change(config: AdobeConfig) -> str:
        table = _mapped(config, dynamics_table)
        found = _field(config, dynamics_table, campaign_field)
        if campaign_field == table.campaign_key:
            raise BadInputError(
                f"{table.campaign_resource}.{campaign_field} is the key of the mapping: remove "
                f"the table's mapping instead (`adobe mappings remove-table {account_id} "
                f"{dynamics_table}`)."
            )
        table.fields.remove(found)
        table.replacements = [
            r for r in table.replacements if r.dynamics_field != found.dynamics_field
        ]
        return (
            f"Removed {dynamics_table}.{found.dynamics_field} -> {campaign_field} "
            "(and its replacements)."
        )

    return _edit(rt, account_id, change)


def set_apply_updates(
    rt: Runtime, account_id: str, dynamics_table: str, campaign_field: str, on: bool
) -> Changed:
    def change(config: AdobeConfig) -> str:
        _field(config, dynamics_table, campaign_field).apply_updates = on
        when = "every change" if on else "the initial load and replays only"
        return f"{dynamics_table} -> {campaign_field} is written on {when}."

    return _edit(rt, account_id, change)


def set_table_options(
    rt: Runtime, account_id: str, dynamics_table: str, options: TableOptions
) -> Changed:
    def change(config: AdobeConfig) -> str:
        table = _mapped(config, dynamics_table)
        if options.apply_deletes is not None:
            table.apply_deletes = options.apply_deletes
        if options.technical_picklist_values is not None:
            table.technical_picklist_values = options.technical_picklist_values
        if options.filter_join is not None:
            table.filter.join = options.filter_join
        if options.delete_filtered_out is not None:
            table.filter.delete_filtered_out = options.delete_filtered_out
        return (
            f"'{dynamics_table}': apply deletes {_yes(table.apply_deletes)}, technical picklist "
            f"values {_yes(table.technical_picklist_values)}, filter joined by "
            f"{table.filter.join.value}, delete filtered out "
            f"{_yes(table.filter.delete_filtered_out)}."
        )

    return _edit(rt, account_id, change)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


# Replacements and filters --------------------------------------------------------------------


def add_replacement(
    rt: Runtime, account_id: str, dynamics_table: str, rule: Replacement
) -> Changed:
    def change(config: AdobeConfig) -> str:
        _mapped(config, dynamics_table).replacements.append(rule)
        return (
            f"{dynamics_table}.{rule.dynamics_field} '{rule.value}' is sent as '{rule.new_value}'."
        )

    return _edit(rt, account_id, change)


def remove_replacement(
    rt: Runtime, account_id: str, dynamics_table: str, dynamics_field: str, value: str
) -> Changed:
    def change(config: AdobeConfig) -> str:
        table = _mapped(config, dynamics_table)
        kept = [
            r for r in table.replacements if (r.dynamics_field, r.value) != (dynamics_field, value)
        ]
        if len(kept) == len(table.replacements):
            raise NotMapped(
                f"'{dynamics_table}' has no replacement for {dynamics_field} = '{value}'."
            )
        table.replacements = kept
        return f"Removed the replacement of {dynamics_table}.{dynamics_field} '{value}'."

    return _edit(rt, account_id, change)


def add_filter_rule(rt: Runtime, account_id: str, dynamics_table: str, rule: FilterRule) -> Changed:
    require_adobe_account(rt, account_id)
    dynamics.check_column(rt, dynamics_table, rule.dynamics_field)

    def change(config: AdobeConfig) -> str:
        table = _mapped(config, dynamics_table)
        table.filter.rules.append(rule)
        return (
            f"Filter rule {len(table.filter.rules)} of '{dynamics_table}': "
            f"{rule.dynamics_field} {rule.comparison.value} {rule.value}".rstrip()
            + f" (rules joined by {table.filter.join.value})."
        )

    return _edit(rt, account_id, change)


def remove_filter_rule(rt: Runtime, account_id: str, dynamics_table: str, number: int) -> Changed:
    """Remove the rule at `number` (1-based, as listed)."""

    def change(config: AdobeConfig) -> str:
        rules = _mapped(config, dynamics_table).filter.rules
        if not 1 <= number <= len(rules):
            raise NotMapped(
                f"'{dynamics_table}' has {len(rules)} filter rule(s); there is no rule {number}."
            )
        rules.pop(number - 1)
        return f"Removed filter rule {number} of '{dynamics_table}'."

    return _edit(rt, account_id, change)


# Opt-out and egress ------------------------------------------------------------------------------


def set_opt_out(rt: Runtime, account_id: str, wanted: OptOutChange) -> Changed:
    require_adobe_account(rt, account_id)
    if wanted.pairs is not None:
        columns = dynamics.columns(rt, OPT_OUT_TABLE)
        for pair in wanted.pairs:
            kind = columns.get(pair.dynamics_field)
            if kind != "Boolean":
                what = "not a column" if kind is None else f"a {kind} column"
                raise dynamics.UnknownColumn(
                    f"'{pair.dynamics_field}' is {what} of {OPT_OUT_TABLE}: an opt-out maps to a "
                    "Boolean field (e.g. donotbulkemail)."
                )

    def change(config: AdobeConfig) -> str:
        if wanted.mode is not None:
            config.opt_out.mode = wanted.mode
        if wanted.pairs is not None:
            config.opt_out.pairs = list(wanted.pairs)
        pairs = ", ".join(
            f"{p.campaign_attribute.value} <-> {p.dynamics_field}" for p in config.opt_out.pairs
        )
        return f"Opt-out {config.opt_out.mode.value}: {pairs or 'no attributes mapped'}."

    return _edit(rt, account_id, change)


def set_egress(rt: Runtime, account_id: str, wanted: EgressChange) -> Changed:
    def change(config: AdobeConfig) -> str:
        values = config.egress.model_dump() | wanted.model_dump(exclude_none=True)
        config.egress = EgressSettings.model_validate(values)
        e = config.egress
        events = [n for n, on in (("Send", e.send), ("Open", e.open), ("Click", e.click),
                                  ("Bounce", e.bounce)) if on]  # fmt: skip
        tasks = []
        if e.click_task:
            tasks.append(f"a task due in {e.click_task_due_days} day(s) on each click")
        if e.bounce_task:
            tasks.append("a reconcile task on each bounce")
        text = (
            f"Egress events: {', '.join(events) or 'none'}; "
            f"{'; '.join(tasks) or 'no follow-up tasks'}."
        )
        if e.journal_url:
            text += f" Events are read from the I/O Events journal {e.journal_url}."
        return text

    return _edit(rt, account_id, change)
