"""The file drop inside an ingress run: whether a table's initial load (or replay) goes by file,
and the transfer as units of the run. The decision: the account has a file
drop, the run is not a dry run, and the table holds at least the drop's threshold of records
(RetrieveTotalRecordCount: Dataverse's `$count` stops at 5,000). The ingress
(`ingress/sync_type.py`) asks `file_drop_for` when a table's load begins."""

from __future__ import annotations

from collections.abc import Generator
from enum import StrEnum
from typing import Any

from shared.audit import AuditDetail, AuditStatus, Counts
from shared.clients.adobe.client import AdobeCampaignClient
from shared.engine import Run
from shared.storage.adobe_config_model import TableMapping
from shared.storage.adobe_file_drop import FileDropRepository, FileDropSettings
from shared.sync.adobe.file_drop_target import open_target
from shared.sync.adobe.file_load import FileLoadOutcome, plan_job, transfer
from shared.sync.adobe.file_load_progress import FileLoadProgress, LoadStatus


class InitialRoute(StrEnum):
    API = "api"
    FILE_DROP = "file drop"


def initial_route(records: int | None, drop: FileDropSettings | None) -> InitialRoute:
    """How a table's initial load (or replay) is transferred, the one place that decides: by
    file when the account has a file drop and the table holds at least its threshold of
    records (by default 500,000, Adobe's former rule); `records` unknown: the API."""
    if drop is None or records is None or records < drop.threshold:
        return InitialRoute.API
    return InitialRoute.FILE_DROP


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
    records = run.services.dataverse().total_record_count(table)
    return settings if initial_route(records, settings) is InitialRoute.FILE_DROP else None


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
