"""Rows of any tables read by their ids in as few calls as the Web API allows: one `$batch` of
GETs (`<set>(<id>)?$select=...`) per 1,000 distinct rows, whatever the number of tables.
Change tracking reads take no `$expand`, so the records their lookups point to (a contact's
parent account) are read this way, once per page of changes.

A row the service answers 404 for (deleted since the lookup was read) is simply absent; any
other failure leaves its key `unresolved`, so the caller can hold back what needs it rather
than write a wrong (empty) value."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.clients.dataverse.batch import BatchRequest
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path, entity_set_of, query_string, select_option

RowKey = tuple[str, str]  # (table logical name, id as the lookup gave it)


@dataclass
class RowsRead:
    rows: dict[RowKey, Mapping[str, Any]] = field(default_factory=dict)
    unresolved: set[RowKey] = field(default_factory=set)
    batch_calls: int = 0


def is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def read_rows(
    dataverse: DataverseClient,
    keys: Iterable[RowKey],
    select: Mapping[str, Sequence[str]],
    *,
    entity_set: Callable[[str], str] = entity_set_of,
    prefer: str | None = None,
) -> RowsRead:
    """The rows of `keys` (duplicates and non-GUIDs skipped), each table's `select` columns;
    `prefer` (e.g. an `odata.include-annotations` value) is sent with every GET."""
    wanted = list(dict.fromkeys(k for k in keys if is_guid(k[1]) and select.get(k[0])))
    result = RowsRead()
    if not wanted:
        return result
    headers = {"Prefer": prefer} if prefer else {}
    requests = []
    for table, row_id in wanted:
        options = query_string([("$select", select_option(list(select[table])))])
        url = f"{entity_path(entity_set(table), row_id)}?{options}"
        requests.append(BatchRequest("GET", url, headers=headers))
    outcome = dataverse.execute_batch(requests)
    result.batch_calls = outcome.http_requests
    for key, answer in zip(wanted, outcome.results, strict=True):
        if answer.ok and isinstance(answer.body, dict):
            result.rows[key] = answer.body
        elif answer.status != 404:
            result.unresolved.add(key)
    return result
