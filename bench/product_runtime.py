"""The product's runtime as the benchmarks run it: tables and queue in Azurite under fresh
names, clients pointed at the sandboxes with every request counted (`CallLog`), and a loop
that hands queued messages to the worker until the run is over."""

from __future__ import annotations

import os
import ssl
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx

from bench.calls import CallLog
from bench.sandbox_process import Endpoints
from shared.azurite import AzuriteProcess
from shared.clients import DataverseClient, RetryPolicy
from shared.messaging.storage_queue import StorageQueueAdapter
from shared.pipeline import admin
from shared.pipeline.worker import Worker
from shared.runtime import Runtime
from shared.settings import Settings
from shared.storage.schedules_repo import ScheduleStatus
from shared.sync_types import SyncType

PASSWORD_SETTING = "BENCH_DOTDIGITAL_PASSWORD"  # the account's password setting in benches
HTTP_TIMEOUT_SECONDS = 121.0


def bench_settings(azurite: AzuriteProcess, endpoints: Endpoints, **values: str) -> Settings:
    """Settings for Azurite and the sandboxes (fresh table prefix and queue), plus `values`."""
    os.environ[PASSWORD_SETTING] = endpoints.api_password
    fields: dict[str, Any] = {
        "AzureWebJobsStorage": azurite.connection_string,
        "SYNC_QUEUE_BACKEND": "StorageQueue",
        "SYNC_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "TABLE_PREFIX": f"b{uuid.uuid4().hex[:10]}",
        "DATAVERSE_URL": endpoints.dataverse_url,
        "DATAVERSE_TENANT_ID": endpoints.tenant_id,
        "DATAVERSE_CLIENT_ID": endpoints.client_id,
        "DATAVERSE_CLIENT_SECRET": endpoints.client_secret,
        "DATAVERSE_AUTHORITY_HOST": endpoints.dataverse_url,
        "DOTDIGITAL_DISCOVERY_URL": endpoints.dotdigital_url,
        "HTTP_CA_BUNDLE": endpoints.ca_path,
        **values,
    }
    return Settings(**fields)


def counting_runtime(
    settings: Settings,
    endpoints: Endpoints,
    log: CallLog,
    *,
    retry: RetryPolicy | None = None,
    timeout: float = HTTP_TIMEOUT_SECONDS,
) -> Runtime:
    """The product's runtime whose platform and Dataverse clients count every request."""
    rt = Runtime(settings, retry=retry or RetryPolicy())
    verify = ssl.create_default_context(cafile=endpoints.ca_path)
    hooks = log.event_hooks()
    rt.use_clients(  # before first use, so the runtime never builds uncounted ones
        http=httpx.Client(timeout=timeout, verify=verify, event_hooks=hooks),
        dataverse=DataverseClient.from_settings(
            settings,
            retry=rt.retry,
            http=httpx.Client(timeout=timeout, verify=verify, event_hooks=hooks),
        ),
    )
    return rt


def run_to_completion(
    rt: Runtime, account_id: str, sync_type: SyncType, *, limit_seconds: float = 3600
) -> None:
    """Sync Now, then the worker takes the queued messages (continuations included) until
    the schedule is back to None."""
    admin.sync_now(rt, account_id, sync_type)
    queue = rt.queue
    assert isinstance(queue, StorageQueueAdapter)
    deadline = time.monotonic() + limit_seconds
    while rt.schedules.get(account_id, sync_type).status is not ScheduleStatus.NONE:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the run did not finish within {limit_seconds:g} s")
        deliveries = queue.receive(max_messages=1, visibility=timedelta(minutes=30))
        if not deliveries:
            time.sleep(0.1)
        for delivery in deliveries:
            Worker(rt).handle(delivery.body)
            queue.complete(delivery)
