"""What one Dynamics record becomes in Campaign under a table mapping: each mapped field's
value, replaced when a rule names it (by the Dynamics value or a choice's label), else a
choice as its value or label ("use technical values").
A field with "apply updates" off is left out of an incremental update of a record Campaign
has already; the initial load, a replay and the creation of a new record write it. An empty
choice is left out (Campaign's enumerations refuse null)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from shared.storage.adobe_config_model import TableMapping
from shared.sync.adobe.picklists import outgoing
from shared.sync.adobe.replacements import Replacements


class Write(StrEnum):
    LOAD = "Load"  # the initial load or a replay
    CREATE = "Create"  # a record new since the load
    UPDATE = "Update"  # an incremental change of a record Campaign has


def campaign_record(
    table: TableMapping,
    values: Mapping[str, object],
    labels: Mapping[str, str],
    choices: Collection[str],
    write: Write,
) -> dict[str, object]:
    """Campaign field -> value. `values` and `labels` (formatted values) are keyed by the
    mappings' Dynamics fields (a linked field by its path, as the reader resolved it);
    `choices` names the fields that are choice columns. A field the reader did not return is
    left out, not sent empty."""
    rules = Replacements(table.replacements)
    record: dict[str, object] = {}
    for mapping in table.fields:
        if write is Write.UPDATE and not mapping.apply_updates:
            continue
        name = mapping.dynamics_field
        if name not in values:
            continue
        value, label = values[name], labels.get(name)
        # A rule names the Dynamics value (or a choice's label), before either is converted.
        replaced = rules.find(name, value, label)
        if replaced is not None:
            record[mapping.campaign_field] = replaced
        elif name in choices:
            if value is None:
                # An empty choice is left out, not sent as null: Campaign's enumerations
                # (gender, emailFormat, ...) refuse null, and it has no label either.
                continue
            record[mapping.campaign_field] = outgoing(value, label, table.technical_picklist_values)
        else:
            record[mapping.campaign_field] = value
    return record
