"""The Adobe Campaign configuration of each account, in AdobeCampaignConfig: PartitionKey =
account id; a `settings` row (the opt-out mode and attribute pairs, the egress switches) and
one `table-<dynamics table>` row per table mapping (its switches as columns, its fields,
replacements and filter rules as JSON), so Storage Explorer shows one row per mapped table.

A save writes the whole partition in one transaction conditioned on the settings row's ETag,
so two administrators saving at once cannot each lose the other's change unnoticed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableEntity, TableTransactionError, UpdateMode
from pydantic import TypeAdapter

from shared.errors import ConcurrencyConflict
from shared.storage.adobe_config_model import (
    AdobeConfig,
    EgressSettings,
    FieldMapping,
    FilterRule,
    OptOutMode,
    OptOutPair,
    OptOutSettings,
    RecordFilter,
    Replacement,
    TableMapping,
)
from shared.storage.entities import etag_of

SETTINGS_ROW = "settings"
TABLE_ROW = "table-"
_FIELDS = TypeAdapter(list[FieldMapping])
_REPLACEMENTS = TypeAdapter(list[Replacement])
_RULES = TypeAdapter(list[FilterRule])
_PAIRS = TypeAdapter(list[OptOutPair])


@dataclass(frozen=True)
class StoredConfig:
    config: AdobeConfig
    etag: str | None  # None: nothing stored yet (the defaults)


def _json(adapter: TypeAdapter[Any], value: Any) -> str:
    return adapter.dump_json(value).decode()


class AdobeConfigRepository:
    TABLE: ClassVar[str] = "AdobeCampaignConfig"
    WRITES: ClassVar[tuple[str, ...]] = ("save",)

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def load(self, account_id: str) -> StoredConfig | None:
        rows = list(
            self._table.query_entities("PartitionKey eq @pk", parameters={"pk": account_id})
        )
        settings = next((r for r in rows if r["RowKey"] == SETTINGS_ROW), None)
        if settings is None:
            return None
        tables = [_table(r) for r in rows if str(r["RowKey"]).startswith(TABLE_ROW)]
        config = AdobeConfig(
            account_id=account_id,
            tables=sorted(tables, key=lambda t: (t.dynamics_table != "contact", t.dynamics_table)),
            opt_out=OptOutSettings(
                mode=OptOutMode(settings.get("OptOutMode", OptOutMode.DISABLED.value)),
                pairs=_PAIRS.validate_json(settings.get("OptOutPairs") or "[]"),
            ),
            egress=EgressSettings(
                journal_url=str(settings.get("EgressJournalUrl") or ""),
                ims_org_id=str(settings.get("EgressImsOrgId") or ""),
                send=bool(settings.get("EgressSend", True)),
                open=bool(settings.get("EgressOpen", True)),
                click=bool(settings.get("EgressClick", True)),
                bounce=bool(settings.get("EgressBounce", True)),
                click_task=bool(settings.get("ClickTask", True)),
                click_task_due_days=int(settings.get("ClickTaskDueDays", 1)),
                bounce_task=bool(settings.get("BounceTask", True)),
            ),
        )
        return StoredConfig(config, etag_of(settings))

    def save(self, config: AdobeConfig, etag: str | None) -> None:
        """Write the account's whole configuration; `etag` is the settings row's as loaded
        (None: nothing was stored). Raises ConcurrencyConflict if it changed meanwhile."""
        account = config.account_id
        existing = {
            str(r["RowKey"])
            for r in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": account}, select=["RowKey"]
            )
        }
        settings = _settings_entity(config)
        operations: list[Any] = (
            [("create", settings)]
            if etag is None
            else [
                (
                    "update",
                    settings,
                    {
                        "mode": UpdateMode.REPLACE,
                        "etag": etag,
                        "match_condition": MatchConditions.IfNotModified,
                    },
                )
            ]
        )
        kept = set()
        for table in config.tables:
            entity = _table_entity(account, table)
            kept.add(entity["RowKey"])
            operations.append(("upsert", entity, {"mode": UpdateMode.REPLACE}))
        for row in sorted(existing - kept - {SETTINGS_ROW}):
            operations.append(("delete", {"PartitionKey": account, "RowKey": row}))
        try:
            self._table.submit_transaction(operations)
        except TableTransactionError as error:
            raise ConcurrencyConflict(
                f"The Adobe Campaign configuration of '{account}' was changed by someone else "
                "meanwhile; nothing was saved: run the command again."
            ) from error


def _settings_entity(config: AdobeConfig) -> dict[str, Any]:
    egress = config.egress
    return {
        "PartitionKey": config.account_id,
        "RowKey": SETTINGS_ROW,
        "OptOutMode": config.opt_out.mode.value,
        "OptOutPairs": _json(_PAIRS, config.opt_out.pairs),
        "EgressJournalUrl": egress.journal_url,
        "EgressImsOrgId": egress.ims_org_id,
        "EgressSend": egress.send,
        "EgressOpen": egress.open,
        "EgressClick": egress.click,
        "EgressBounce": egress.bounce,
        "ClickTask": egress.click_task,
        "ClickTaskDueDays": egress.click_task_due_days,
        "BounceTask": egress.bounce_task,
    }


def _table_entity(account_id: str, table: TableMapping) -> dict[str, Any]:
    return {
        "PartitionKey": account_id,
        "RowKey": TABLE_ROW + table.dynamics_table,
        "DynamicsTable": table.dynamics_table,
        "CampaignResource": table.campaign_resource,
        "CampaignKey": table.campaign_key,
        "ApplyDeletes": table.apply_deletes,
        "TechnicalPicklistValues": table.technical_picklist_values,
        "FilterJoin": table.filter.join.value,
        "DeleteFilteredOut": table.filter.delete_filtered_out,
        "Fields": _json(_FIELDS, table.fields),
        "Replacements": _json(_REPLACEMENTS, table.replacements),
        "FilterRules": _json(_RULES, table.filter.rules),
    }


def _table(row: TableEntity) -> TableMapping:
    return TableMapping(
        dynamics_table=str(row["DynamicsTable"]),
        campaign_resource=str(row["CampaignResource"]),
        campaign_key=str(row["CampaignKey"]),
        fields=_FIELDS.validate_json(row.get("Fields") or "[]"),
        replacements=_REPLACEMENTS.validate_json(row.get("Replacements") or "[]"),
        filter=RecordFilter(
            rules=_RULES.validate_json(row.get("FilterRules") or "[]"),
            join=row.get("FilterJoin", "And"),
            delete_filtered_out=bool(row.get("DeleteFilteredOut", False)),
        ),
        apply_deletes=bool(row.get("ApplyDeletes", False)),
        technical_picklist_values=bool(row.get("TechnicalPicklistValues", False)),
    )
