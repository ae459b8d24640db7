"""The Adobe Campaign configuration reads back as saved (every part of it), a removed table's
row goes, and a save based on a stale read is refused rather than losing the other change."""

from __future__ import annotations

import pytest

from shared.errors import ConcurrencyConflict
from shared.runtime import Runtime
from shared.storage.adobe_config_model import (
    AdobeConfig,
    CampaignOptOut,
    Comparison,
    EgressSettings,
    FieldMapping,
    FilterRule,
    Join,
    OptOutMode,
    OptOutPair,
    OptOutSettings,
    RecordFilter,
    Replacement,
    TableMapping,
    default_profile_mapping,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository


def _config() -> AdobeConfig:
    loyalty = TableMapping(
        dynamics_table="new_loyaltycard",
        campaign_resource="cusLoyaltyCard",
        campaign_key="crmId",
        fields=[
            FieldMapping(dynamics_field="new_loyaltycardid", campaign_field="crmId"),
            FieldMapping(dynamics_field="new_tier", campaign_field="tier", apply_updates=False),
            FieldMapping(dynamics_field="new_contactid.fullname", campaign_field="holder"),
        ],
        replacements=[Replacement(dynamics_field="new_tier", value="G", new_value="Gold")],
        filter=RecordFilter(
            rules=[
                FilterRule(
                    dynamics_field="new_points", comparison=Comparison.GREATER_THAN, value="100"
                ),
                FilterRule(dynamics_field="new_tier", comparison=Comparison.IS_NOT_EMPTY),
            ],
            join=Join.OR,
            delete_filtered_out=True,
        ),
        apply_deletes=True,
        technical_picklist_values=True,
    )
    return AdobeConfig(
        account_id="acs",
        tables=[default_profile_mapping(), loyalty],
        opt_out=OptOutSettings(
            mode=OptOutMode.BIDIRECTIONAL,
            pairs=[OptOutPair(campaign_attribute=CampaignOptOut.CCPA, dynamics_field="donotemail")],
        ),
        egress=EgressSettings(
            open=False,
            click_task_due_days=7,
            bounce_task=False,
            journal_url="https://events.adobe.io/events/organizations/1/integrations/2/reg",
            ims_org_id="ABC123@AdobeOrg",
        ),
    )


def test_the_configuration_reads_back_as_saved(runtime: Runtime) -> None:
    repo = runtime.repository(AdobeConfigRepository)
    assert repo.load("acs") is None
    repo.save(_config(), None)
    stored = repo.load("acs")
    assert stored is not None and stored.config == _config()
    assert repo.load("other") is None  # accounts are partitions of their own


def test_a_removed_table_mapping_loses_its_row(runtime: Runtime) -> None:
    repo = runtime.repository(AdobeConfigRepository)
    repo.save(_config(), None)
    stored = repo.load("acs")
    assert stored is not None
    smaller = stored.config.model_copy(deep=True)
    smaller.tables = smaller.tables[:1]
    repo.save(smaller, stored.etag)
    rows = runtime.tables.client(AdobeConfigRepository.TABLE).query_entities(
        "PartitionKey eq 'acs'"
    )
    assert {r["RowKey"] for r in rows} == {"settings", "table-contact"}


def test_a_save_from_a_stale_read_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    repo = runtime.repository(AdobeConfigRepository)
    repo.save(_config(), None)
    first = repo.load("acs")
    assert first is not None
    mine, theirs = first.config.model_copy(deep=True), first.config.model_copy(deep=True)
    theirs.egress.send = False
    repo.save(theirs, first.etag)
    mine.tables = mine.tables[:1]
    with pytest.raises(ConcurrencyConflict, match="changed by someone else meanwhile"):
        repo.save(mine, first.etag)
    with pytest.raises(ConcurrencyConflict):
        repo.save(_config(), None)  # a first save when someone saved already
    now = repo.load("acs")
    assert now is not None and now.config == theirs
