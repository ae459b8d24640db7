"""Email data labels: list, add, delete. A label added here is created on the platform by the
next DataLabels sync; deleting one removes it from the connector, never from the platform."""

from __future__ import annotations

from pydantic import BaseModel

from shared.errors import ConflictError, NotFoundError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin, label_key


class LabelNotFound(NotFoundError):
    pass


class LabelInUse(ConflictError):
    pass


class LabelDeleted(BaseModel):
    name: str
    message: str


def list_labels(rt: Runtime, account_id: str) -> list[DataLabel]:
    admin.require_account(rt, account_id)
    return sorted(rt.data_labels.for_account(account_id), key=lambda label: label.name.upper())


def add_label(rt: Runtime, account_id: str, label: DataLabel) -> DataLabel:
    """Save a new label (origin Dynamics, not yet synchronised)."""
    name = label.name
    admin.require_account(rt, account_id)
    existing = rt.data_labels.get(account_id, name)
    if existing is not None and existing.name.upper() != name.upper():
        # Names are stored by a case-insensitive key with other characters folded to "_".
        raise admin.DuplicateLabel(
            f"The label name '{name}' cannot be told apart from the existing label "
            f"'{existing.name}' (both are stored as {label_key(name)}): choose another name."
        )
    new = label.model_copy(
        update={"name": name, "origin": LabelOrigin.DYNAMICS, "is_synchronised": False,
                "last_error": "", "created_utc": rt.clock()}
    )  # fmt: skip
    admin.add_label(rt, account_id, new)
    return new


def delete_label(rt: Runtime, account_id: str, name: str) -> LabelDeleted:
    """Refused while a mapping uses the label. A label the platform refused is how an operator
    clears a failing DataLabels sync; a platform field is left in place (and a label found on
    the platform comes back with the next DataLabels sync)."""
    admin.require_account(rt, account_id)
    label = rt.data_labels.get(account_id, name)
    if label is None:
        raise LabelNotFound(
            f"No data label '{name}' in account '{account_id}' (see `labels list {account_id}`)."
        )
    users = [
        m for m in rt.mappings.for_account(account_id) if label_key(m.label) == label_key(name)
    ]
    if users:
        first = users[0]
        raise LabelInUse(
            f"The label '{label.name}' is used by the mapping {first.describe}: delete it first "
            f"with `mappings delete {account_id} {first.label} --entity {first.entity.value}`."
        )
    rt.data_labels.delete(account_id, label.name)
    if label.origin is LabelOrigin.PLATFORM:
        note = "the platform's data field stays, and the next DataLabels sync brings it back."
    elif label.is_synchronised:
        note = "the data field it created on the platform stays there."
    else:
        note = "it was never created on the platform."
    return LabelDeleted(name=label.name, message=f"Deleted the label '{label.name}'; {note}")
