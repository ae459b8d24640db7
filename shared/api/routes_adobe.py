"""The Adobe Campaign configuration of an Adobe Campaign account: table and field mappings,
replacements, filter rules and switches, opt-out mode and attributes, egress switches. A
Dotdigital account answers 422; every change is checked as the CLI's is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import adobe_config as service
from shared.service import adobe_file_drop as file_drop
from shared.service import adobe_ingress
from shared.service.adobe_campaign_fields import Checked
from shared.service.adobe_config import (
    Changed,
    EgressChange,
    NewTable,
    OptOutChange,
    TableOptions,
)
from shared.storage.adobe_config_model import (
    CAMPAIGN_NAME,
    DYNAMICS_NAME,
    DYNAMICS_PATH,
    AdobeConfig,
    FieldMapping,
    FilterRule,
    Replacement,
)
from shared.storage.adobe_file_drop import FileDropSettings

router = APIRouter(prefix="/accounts/{accountId}/adobe", tags=["adobe"])

DynamicsTable = Annotated[
    str,
    Path(alias="table", pattern=DYNAMICS_NAME, max_length=100,
         description="Dynamics table (logical name)", examples=["contact"]),
]  # fmt: skip
CampaignField = Annotated[
    str,
    Path(alias="campaignField", pattern=CAMPAIGN_NAME, max_length=100,
         description="Campaign field (technical name)"),
]  # fmt: skip
RuleNumber = Annotated[int, Path(alias="number", ge=1, description="The rule's 1-based position")]


class CampaignTable(BaseModel):
    campaign_resource: str = Field(pattern=CAMPAIGN_NAME, max_length=100)
    campaign_key: str | None = Field(default=None, pattern=CAMPAIGN_NAME, max_length=100)


class ApplyUpdates(BaseModel):
    apply_updates: bool


Unchecked = Annotated[
    bool,
    Query(description="Save without checking against Campaign (when it cannot be reached); "
          "check later with GET .../adobe/check"),
]  # fmt: skip


@router.get("", responses=documented(404))
def show_adobe_config(rt: Rt, account_id: AccountId) -> AdobeConfig:
    """The whole configuration (the defaults, contact -> profile, until the first change)."""
    return service.show(rt, account_id)


@router.put("/tables/{table}", responses=documented(404, 409))
def add_adobe_table(
    rt: Rt, account_id: AccountId, table: DynamicsTable, body: CampaignTable,
    unchecked: Unchecked = False,
) -> Changed:  # fmt: skip
    """Map a Dynamics table (change tracking on: else 422) to a Campaign resource (a `cus`
    resource Campaign lists, else 422; Campaign not answering: 503)."""
    new = NewTable(dynamics_table=table, campaign_resource=body.campaign_resource,
                   campaign_key=body.campaign_key)  # fmt: skip
    return service.add_table(rt, account_id, new, unchecked=unchecked)


@router.delete("/tables/{table}", responses=documented(404))
def remove_adobe_table(rt: Rt, account_id: AccountId, table: DynamicsTable) -> Changed:
    return service.remove_table(rt, account_id, table)


@router.patch("/tables/{table}", responses=documented(404))
def set_adobe_table_options(
    rt: Rt, account_id: AccountId, table: DynamicsTable, body: TableOptions
) -> Changed:
    """Apply deletes, technical picklist values, the filter's join and delete filtered out."""
    return service.set_table_options(rt, account_id, table, body)


@router.post("/tables/{table}/fields", responses=documented(404, 409))
def add_adobe_field(
    rt: Rt, account_id: AccountId, table: DynamicsTable, body: FieldMapping,
    unchecked: Unchecked = False,
) -> Changed:  # fmt: skip
    """Map a column to a field Campaign lists for the table's resource, of a type the column
    fits (else 422; Campaign not answering: 503)."""
    return service.add_field(rt, account_id, table, body, unchecked=unchecked)


@router.get("/check", responses=documented(404))
def check_adobe_mappings(rt: Rt, account_id: AccountId) -> Checked:
    """Every saved field mapping checked against Campaign now; `problems` lists those that
    would fail (changes nothing)."""
    return service.check(rt, account_id)


@router.patch("/tables/{table}/fields/{campaignField}", responses=documented(404))
def set_adobe_field_updates(
    rt: Rt, account_id: AccountId, table: DynamicsTable, campaign_field: CampaignField,
    body: ApplyUpdates,
) -> Changed:  # fmt: skip
    return service.set_apply_updates(rt, account_id, table, campaign_field, body.apply_updates)


@router.delete("/tables/{table}/fields/{campaignField}", responses=documented(404))
def remove_adobe_field(
    rt: Rt, account_id: AccountId, table: DynamicsTable, campaign_field: CampaignField
) -> Changed:
    return service.remove_field(rt, account_id, table, campaign_field)


@router.post("/tables/{table}/replacements", responses=documented(404, 409))
def add_adobe_replacement(
    rt: Rt, account_id: AccountId, table: DynamicsTable, body: Replacement
) -> Changed:
    return service.add_replacement(rt, account_id, table, body)


@router.delete("/tables/{table}/replacements", responses=documented(404))
def remove_adobe_replacement(
    rt: Rt,
    account_id: AccountId,
    table: DynamicsTable,
    dynamics_field: Annotated[str, Query(pattern=DYNAMICS_PATH, max_length=200)],
    value: Annotated[str, Query(max_length=4000)],
) -> Changed:
    return service.remove_replacement(rt, account_id, table, dynamics_field, value)


@router.post("/tables/{table}/filter-rules", responses=documented(404))
def add_adobe_filter_rule(
    rt: Rt, account_id: AccountId, table: DynamicsTable, body: FilterRule
) -> Changed:
    return service.add_filter_rule(rt, account_id, table, body)


@router.delete("/tables/{table}/filter-rules/{number}", responses=documented(404))
def remove_adobe_filter_rule(
    rt: Rt, account_id: AccountId, table: DynamicsTable, number: RuleNumber
) -> Changed:
    return service.remove_filter_rule(rt, account_id, table, number)


@router.patch("/opt-out", responses=documented(404, 409))
def set_adobe_opt_out(rt: Rt, account_id: AccountId, body: OptOutChange) -> Changed:
    """The opt-out mode and/or the attribute pairs (`denyList...` accepted for `blackList...`)."""
    return service.set_opt_out(rt, account_id, body)


@router.patch("/egress", responses=documented(404))
def set_adobe_egress(rt: Rt, account_id: AccountId, body: EgressChange) -> Changed:
    return service.set_egress(rt, account_id, body)


class ReplayRequest(BaseModel):
    table: str = Field(pattern=DYNAMICS_NAME, max_length=100, examples=["contact"],
                       description="The mapped Dynamics table (logical name)")  # fmt: skip


@router.post("/replay", responses=documented(404, 422))
def replay_adobe_table(
    rt: Rt, account_id: AccountId, body: ReplayRequest
) -> adobe_ingress.ReplayAnswer:
    """The table's next ingress run sends every record again (all mapped fields); refused
    (422) for a table of 2,000,000 records or more."""
    return adobe_ingress.replay(rt, account_id, body.table)


@router.get("/file-drop", responses=documented(404))
def show_adobe_file_drop(rt: Rt, account_id: AccountId) -> file_drop.FileDropView:
    """The file drop for initial transfers (none: every table goes over the API) and each
    table's transfer."""
    return file_drop.show(rt, account_id)


@router.put("/file-drop", responses=documented(404))
def set_adobe_file_drop(rt: Rt, account_id: AccountId, body: FileDropSettings) -> Changed:
    """Replace the file drop: SFTP (`kind: sftp`, a pinned host key) or S3 (`kind: s3`), with
    the NAMES of the app settings holding credentials, never the credentials."""
    return file_drop.set_file_drop(rt, account_id, body)


@router.delete("/file-drop", responses=documented(404))
def clear_adobe_file_drop(rt: Rt, account_id: AccountId) -> Changed:
    return file_drop.clear(rt, account_id)


@router.delete("/file-drop/loads/{table}", responses=documented(404))
def restart_adobe_file_load(rt: Rt, account_id: AccountId, table: DynamicsTable) -> Changed:
    """Forget a table's transfer: its next initial sync writes a new file."""
    return file_drop.restart_load(rt, account_id, table)
