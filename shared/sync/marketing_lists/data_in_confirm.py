"""After a lost answer: which refused writes of a resent `$batch` had been applied already.

DataIn writes with ETag-conditional PATCHes. When a batch's answer is lost the client sends it
again, and if the first send was applied every PATCH now meets 412: the ETag is the one from
before our own write. Such records are read again (one `$batch` of GETs) and a write counts as
done when the record holds every value it was to write; otherwise someone else changed the
record in between and it stays a conflict, read again next run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.clients.dataverse.batch import BatchRequest, BatchResult
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_path, query_string, select_option
from shared.errors import ApiError
from shared.sync.marketing_lists.data_in_merge import InboundField
from shared.sync.marketing_lists.data_in_values import same

PRECONDITION_FAILED = 412


def maybe_ours(result: BatchResult) -> bool:
    """A 412 that may have been caused by the batch's own earlier, unanswered send."""
    return result.status == PRECONDITION_FAILED and result.resent


def applied_already(
    dataverse: DataverseClient,
    entity_set: str,
    fields: Sequence[InboundField],
    writes: Sequence[tuple[str, BatchRequest]],
    results: Sequence[BatchResult],
) -> set[str]:
    """The ids, among the (record id, PATCH) sent with these results, whose refused write the
    record already holds."""
    pending = [
        (record_id, request.body)
        for (record_id, request), result in zip(writes, results, strict=True)
        if maybe_ours(result) and request.body
    ]
    if not pending:
        return set()
    reads = [
        BatchRequest.get(
            f"{entity_path(entity_set, record_id)}?"
            f"{query_string([('$select', select_option(sorted(body)))])}"
        )
        for record_id, body in pending
    ]
    try:
        outcome = dataverse.execute_batch(reads)
    except ApiError:
        return set()  # cannot tell: they stay conflicts, read again next run
    return {
        record_id
        for (record_id, body), result in zip(pending, outcome.results, strict=True)
        if result.ok and isinstance(result.body, dict) and _holds(result.body, body, fields)
    }


def _holds(
    record: Mapping[str, Any], values: Mapping[str, Any], fields: Sequence[InboundField]
) -> bool:
    kinds = {f.column: f.label.type for f in fields}
    return all(
        column in kinds and same(value, record.get(column), kinds[column])
        for column, value in values.items()
    )
