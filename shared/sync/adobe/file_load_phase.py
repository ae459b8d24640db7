"""The file drop inside an ingress run: whether a table's initial load (or replay) goes by file,
and the transfer as units of the run. The decision: the account has a file drop, the run is not
a dry run, and the table holds at least the drop's threshold of records (counted by reading
primary keys a page at a time, and no further than the threshold: Dataverse's `$count` stops
at 5,000)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared.audit import AuditDetail, AuditStatus, Counts
from shared.clients.adobe.client import AdobeCampaignClient
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.odata import entity_set_of
from shared.engine import Run
from shared.storage.adobe_config_model import TableMapping
from shared.storage.adobe_file_drop import FileDropRepository, FileDropSettings
from shared.sync.adobe.file_drop_target import open_target
from shared.sync.adobe.file_load import FileLoadOutcome, plan_job, transfer
from shared.sync.adobe.file_load_progress import FileLoadProgress, LoadStatus

COUNT_PAGE = 5000


def holds_at_least(
    dataverse: DataverseClient,
    table: str,
    primary_key: str,
    threshold: int,
    *,
    page_size: int = COUNT_PAGE,
) -> bool:
    """Does the table hold `threshold` records? Reads ids only, and stops once it knows."""
    seen = 0
    for page in dataverse.iter_pages(entity_set_of(table), [primary_key], page_size=page_size):
        seen += len(page.records)
        if seen >= threshold:
            return True
    return False


def file_drop_for(run: Run[Any], mapping: TableMapping) -> FileDropSettings | None:
    """The drop to load `mapping`'s table through, or None for the API. A transfer already
    begun continues by file whatever the count says now."""
    if run.dry_run:
        return None  # a dry run writes nothing, so it uploads nothing either
    account_id, table = run.account.account_id, mapping.dynamics_table
    settings = run.services.repository(FileDropRepository).load(account_id)
    if settings is None:
        return None
    begun = run.services.repository(FileLoadProgress).load(account_id, table)
    if begun is not None and begun.status is not LoadStatus.SIGNALLED:
        return settings
    dataverse = run.services.dataverse()
    info = dataverse.table_info(table)
    if info is None:
        return None  # the ingress reports a table that is gone
    return (
        settings if holds_at_least(dataverse, table, info.primary_id, settings.threshold) else None
    )


def initial_transfer(
    run: Run[Any], mapping: TableMapping, settings: FileDropSettings
) -> Generator[None, None, FileLoadOutcome]:
    """Transfer the table by file (resuming one begun), counting it in the run: rows read
    and created (the import upserts by the key; the file cannot tell new from existing), and
    an audit detail naming the file and the records left for the API."""
    account_id, table = run.account.account_id, mapping.dynamics_table
    dataverse = run.services.dataverse()
    target = open_target(
        settings,
        run.services.settings,
        owner=f"the file drop of email account '{run.account.name}'",
    )
    outcome = yield from transfer(
        plan_job(dataverse, account_id, mapping, settings),
        dataverse=dataverse,
        adobe=run.platform(AdobeCampaignClient),
        progress=run.services.repository(FileLoadProgress),
        target=target,
        now=run.services.clock,
    )
    counts = Counts(read=outcome.rows + len(outcome.rejected), created=outcome.rows)
    run.counts += counts
    left = f"; {len(outcome.rejected)} left for the API" if outcome.rejected else ""
    notes = f" ({'; '.join(outcome.notes)})" if outcome.notes else ""
    run.detail(
        AuditDetail(
            item=f"{table} by file",
            status=AuditStatus.COMPLETED,
            message=f"{outcome.rows:,} records in {outcome.remote_name} ({outcome.parts} parts) "
            f"to {target.where}, imported by workflow {settings.workflow_id}{left}{notes}",
            counts=counts,
            key=f"file-load-{table}",
        )
    )
    return outcome
