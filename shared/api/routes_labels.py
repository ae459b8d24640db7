"""Email data labels: list, add (created on the platform by the next DataLabels sync), delete
(from the connector only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import labels
from shared.service.labels import LabelDeleted
from shared.storage.data_labels_repo import DataLabel, LabelType

router = APIRouter(prefix="/accounts/{accountId}/labels", tags=["labels"])


class NewLabel(BaseModel):
    """What an admin gives for a new label; its origin and sync state are the connector's."""

    name: str = Field(min_length=1, max_length=100)
    type: LabelType = LabelType.STRING
    default_value: str | None = None
    description: str = ""


LabelName = Annotated[str, Path(min_length=1, max_length=100, description="The label's name")]


@router.get("", responses=documented(404))
def list_labels(rt: Rt, account_id: AccountId) -> list[DataLabel]:
    return labels.list_labels(rt, account_id)


@router.post("", status_code=201, responses=documented(404, 409))
def add_label(rt: Rt, account_id: AccountId, label: NewLabel) -> DataLabel:
    return labels.add_label(rt, account_id, DataLabel(**label.model_dump()))


@router.delete("/{name}", responses=documented(404, 409))
def delete_label(rt: Rt, account_id: AccountId, name: LabelName) -> LabelDeleted:
    """Refused (409) while a mapping uses the label; a field on the platform stays."""
    return labels.delete_label(rt, account_id, name)
