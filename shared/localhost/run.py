"""`python -m shared host`: the local host against the configured storage, until Ctrl+C."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from datetime import timedelta
from typing import Any

from rich.console import Console

from shared.azurite import PROJECT_ROOT
from shared.errors import ConfigurationError
from shared.localhost.host import LocalHost
from shared.messaging.storage_queue import StorageQueueAdapter, queue_service
from shared.runtime import Runtime, get_runtime
from shared.settings import QueueBackend


def load_function_app() -> Any:
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module("function_app").app


def build_host(runtime: Runtime, **options: Any) -> LocalHost:
    settings = runtime.settings
    if settings.queue_backend is not QueueBackend.STORAGE_QUEUE:
        raise ConfigurationError(
            "The local host feeds the worker from an Azure Storage Queue: set "
            "SYNC_QUEUE_BACKEND=StorageQueue (in local.settings.json or the environment, for the "
            "host and the CLI alike; and AzureWebJobsStorage to Azurite). ServiceBus, the "
            "example's value, is for `func start`, whose worker trigger listens on Service Bus."
        )
    service = queue_service(settings)

    def queue_factory(name: str) -> StorageQueueAdapter:
        return StorageQueueAdapter(
            service.get_queue_client(name), service.get_queue_client(f"{name}-poison")
        )

    options.setdefault("visibility", timedelta(seconds=settings.run_lease_seconds))
    # Binding expressions resolve against the same settings the runtime was built from.
    app_settings = {**os.environ, "SYNC_QUEUE_NAME": settings.queue_name}
    return LocalHost(load_function_app(), queue_factory, app_settings=app_settings, **options)


def run_host(console: Console, *, http_port: int = 0) -> None:
    runtime = get_runtime()
    # Tables first: an unreachable storage fails there in a second, where the queue client's
    # own retries would wait about 80 s before saying anything.
    runtime.tables.client("EmailAccounts")
    host = build_host(runtime, http_port=http_port)
    names = ", ".join(f.name for f in host.functions)
    try:
        host.start()
    except OSError as error:
        host.stop()
        raise ConfigurationError(
            f"The local host cannot serve HTTP on port {http_port} ({error.strerror}): "
            "pass --http-port 0 for a free port, or another port."
        ) from error
    console.print(f"Local host running {names}. Press Ctrl+C to stop.")
    for route in host.http_routes:
        methods = ", ".join(sorted(route.methods)) or "any method"
        url = f"{host.base_url}/api/{route.template}"
        console.print(f"  {route.function.name}: {methods} {url}", soft_wrap=True)
    if any(r.function.name == "dynamics_webhook" for r in host.http_routes):
        console.print(
            "  Dataverse posts webhooks there with ?code=<DYNAMICS_WEBHOOK_KEY> "
            "(function keys are not checked locally; the webhook checks its own).",
            soft_wrap=True,
        )
    if any(r.function.name == "admin_api" for r in host.http_routes):
        console.print(
            f"  The admin API: {host.base_url}/api/admin/accounts, ...; its OpenAPI document: "
            f"{host.base_url}/api/admin/openapi.json (function keys are not checked locally).",
            soft_wrap=True,
        )
    if any(r.function.name == "operator_console" for r in host.http_routes):
        console.print(
            f"  The operator console: {host.base_url}/api/console/accounts (local mode: no "
            "sign-in).",
            soft_wrap=True,
        )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("Stopping...")
    finally:
        host.stop()
        runtime.close()
