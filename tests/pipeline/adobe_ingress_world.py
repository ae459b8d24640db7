"""The world of the ingress end-to-end tests: the globex Adobe account's configuration, the
loyalty-card custom resource in the ACS sandbox, Dynamics contacts and cards, and reads of
what Campaign holds."""

from __future__ import annotations

from typing import Any

from sandbox.adobe.state import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.runtime import Runtime
from shared.storage.adobe_config_model import (
    AdobeConfig,
    FieldMapping,
    Replacement,
    TableMapping,
    default_profile_mapping,
)
from shared.storage.adobe_config_repo import AdobeConfigRepository

CARDS = "cusLoyaltyCard"


def profile_mapping(**changes: Any) -> TableMapping:
    """contact -> profile, with gender from gendercode (labels replaced by Campaign's values)."""
    mapping = default_profile_mapping()
    mapping.fields.append(FieldMapping(dynamics_field="gendercode", campaign_field="gender"))
    mapping.replacements = [
        Replacement(dynamics_field="gendercode", value="Male", new_value="male"),
        Replacement(dynamics_field="gendercode", value="Female", new_value="female"),
    ]
    return mapping.model_copy(update=changes)


def card_mapping(**changes: Any) -> TableMapping:
    mapping = TableMapping(
        dynamics_table="new_loyaltycard",
        campaign_resource=CARDS,
        campaign_key="crmId",
        fields=[
            FieldMapping(dynamics_field="new_loyaltycardid", campaign_field="crmId"),
            FieldMapping(dynamics_field="new_name", campaign_field="name"),
            FieldMapping(dynamics_field="new_tier", campaign_field="tier"),
            FieldMapping(dynamics_field="statecode", campaign_field="state"),
            FieldMapping(dynamics_field="new_contactid", campaign_field="profile"),
        ],
    )
    return mapping.model_copy(update=changes)


def configure(rt: Runtime, *tables: TableMapping, account_id: str = "globex") -> None:
    repo = rt.repository(AdobeConfigRepository)
    stored = repo.load(account_id)
    config = AdobeConfig(account_id=account_id, tables=list(tables))
    repo.save(config, stored.etag if stored is not None else None)


def add_cards(acs: AdobeState) -> None:
    fields = {"crmId": "", "name": "", "tier": "", "state": "", "profile": {}}
    acs.add_custom_resource(CARDS, fields, unique=("crmId",), custom_key="crmId")


def contact(dv: DataverseState, first: str, last: str, **values: Any) -> str:
    email = f"{first.lower()}@example.com"
    return dv.insert(
        "contact", {"firstname": first, "lastname": last, "emailaddress1": email, **values}
    )


def profiles(acs: AdobeState) -> dict[str, dict[str, Any]]:
    """Profiles by externalId."""
    return {p["externalId"]: p for p in acs.profiles()}


def rows(acs: AdobeState, resource: str) -> list[dict[str, Any]]:
    with acs.lock:
        return [dict(row) for row in acs.tables[resource].rows.values()]


def profile_pkeys(acs: AdobeState) -> dict[str, str]:
    with acs.lock:
        table = acs.tables["profile"]
        return {row["externalId"]: acs.pkey("profile", i) for i, row in table.rows.items()}
