"""Data mappings between CRM fields and data labels: list, add, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.mappings.model import DataMapping, MappedEntity
from shared.service import mappings
from shared.service.mappings import MappingDeleted

router = APIRouter(prefix="/accounts/{accountId}/mappings", tags=["mappings"])


@router.get("", responses=documented(404))
def list_mappings(rt: Rt, account_id: AccountId) -> list[DataMapping]:
    return mappings.list_mappings(rt, account_id)


@router.post("", status_code=201, responses=documented(404, 409))
def add_mapping(rt: Rt, account_id: AccountId, mapping: DataMapping) -> DataMapping:
    """Checked against the account's stored CRM metadata and data labels."""
    return mappings.add_mapping(rt, account_id, mapping)


@router.delete("/{entity}/{label}", responses=documented(404))
def delete_mapping(
    rt: Rt,
    account_id: AccountId,
    entity: MappedEntity,
    label: Annotated[str, Path(min_length=1, max_length=100)],
) -> MappingDeleted:
    """The Email mapping cannot be deleted (422): it tells the sync where the address is."""
    return mappings.delete_mapping(rt, account_id, label, entity)
