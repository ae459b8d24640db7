"""Helpers for Table entities: ETags, aware datetimes, strings within Table Storage's size
limits, batched deletes and partition reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.errors import ConcurrencyConflict

BATCH_LIMIT = 100  # entity group transactions: at most 100 operations, one partition
# A string property holds at most 64 KiB of UTF-16 (32,768 code units); a little below that.
MAX_STRING_UNITS = 32_000
TRUNCATED = "… [truncated]"
# Below this many partitions, one query each is cheaper than a range scan that may read others.
RANGE_SCAN_MIN_KEYS = 8


def etag_of(entity: TableEntity) -> str:
    return str(entity.metadata["etag"])


def aware(value: Any) -> datetime | None:
    """Table Storage hands back UTC datetimes; make sure they carry their zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def replace_if_unchanged(table: TableClient, entity: dict[str, Any], etag: str) -> str:
    """Replace an entity only if nobody changed it since we read it; returns the new ETag."""
    try:
        result = table.update_entity(
            entity,
            mode=UpdateMode.REPLACE,
            etag=etag,
            match_condition=MatchConditions.IfNotModified,
        )
    except (ResourceModifiedError, ResourceNotFoundError) as error:
        raise ConcurrencyConflict(
            f"{entity['PartitionKey']}/{entity['RowKey']} was changed by someone else"
        ) from error
    return str(result["etag"])


def delete_all(table: TableClient, entities: Iterable[TableEntity]) -> int:
    """Delete entities with one transaction per partition and per 100 rows."""
    deleted = 0
    batch: list[tuple[str, TableEntity]] = []
    partition: str | None = None
    for entity in entities:
        if batch and (entity["PartitionKey"] != partition or len(batch) == BATCH_LIMIT):
            table.submit_transaction(batch)
            deleted += len(batch)
            batch = []
        partition = entity["PartitionKey"]
        batch.append(("delete", entity))
    if batch:
        table.submit_transaction(batch)
        deleted += len(batch)
    return deleted


def fit_string(text: str, max_units: int = MAX_STRING_UNITS) -> str:
    """`text` cut to `max_units` UTF-16 code units (the service's measure), marked as cut."""
    if len(text) * 2 <= max_units:  # the common case: fits whatever its characters
        return text
    encoded = text.encode("utf-16-le")
    if len(encoded) <= max_units * 2:
        return text
    keep = (max_units - len(TRUNCATED)) * 2
    # "ignore" drops a surrogate pair cut in half.
    return encoded[:keep].decode("utf-16-le", errors="ignore") + TRUNCATED


def read_partitions(
    table: TableClient,
    keys: Iterable[str],
    *,
    rows_per_key: int,
    where: str = "",
    parameters: dict[str, Any] | None = None,
) -> dict[str, list[TableEntity]]:
    """The rows of each partition in `keys`, with as few requests as the keys' density allows.

    Many keys are first read with one range query from the smallest to the largest key: a
    page of 1,000 rows costs about what one partition query does, so when the keys are dense
    (e.g. most accounts have a schedule due) this is over ten times cheaper. The scan stops
    once it has read three times the rows the keys should hold (the keys are sparse: other
    partitions lie between them); the keys it has not finished are read one query each.
    `where` (with `parameters`) filters rows on the server: only matching rows are sent.
    """
    extra = f" and {where}" if where else ""  # no parentheses: the SDK splits "@name" on spaces
    values = dict(parameters or {})
    wanted = sorted(set(keys))
    found: dict[str, list[TableEntity]] = {key: [] for key in wanted}
    remaining = wanted
    if len(wanted) >= RANGE_SCAN_MIN_KEYS:
        limit = 3 * rows_per_key * len(wanted) + 100
        rows = table.query_entities(
            "PartitionKey ge @lo and PartitionKey le @hi" + extra,
            parameters={**values, "lo": wanted[0], "hi": wanted[-1]},
        )
        last = ""
        for read, row in enumerate(rows, start=1):
            last = row["PartitionKey"]
            if last in found:
                found[last].append(row)
            if read >= limit:
                break
        else:
            return found
        # Rows come in key order: partitions before the last one read are complete.
        remaining = [key for key in wanted if key >= last]
    for key in remaining:
        found[key] = list(
            table.query_entities("PartitionKey eq @pk" + extra, parameters={**values, "pk": key})
        )
    return found
