"""The functions as the Functions host indexes them (`app.get_functions()`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from croniter import croniter

from function_app import app
from shared.azurite import PROJECT_ROOT
from shared.localhost.bindings import index
from shared.settings import QueueBackend, Settings

EXAMPLE = json.loads((PROJECT_ROOT / "local.settings.example.json").read_text())["Values"]
# The queue each worker trigger type listens on under the Functions host (Core Tools, Azure).
TRIGGER_QUEUES = {
    "serviceBusTrigger": QueueBackend.SERVICE_BUS,
    "queueTrigger": QueueBackend.STORAGE_QUEUE,
}


def _bindings() -> dict[str, dict[str, Any]]:
    # index() reads app.get_functions() once, the way the Functions host indexes the app.
    return {f.name: f.trigger for f in index(app)}


def test_every_blueprint_function_is_registered() -> None:
    assert set(_bindings()) == {
        "scheduler_tick", "sync_worker", "audit_purge", "dynamics_webhook", "admin_api",
        "operator_console",
    }  # fmt: skip


def test_scheduler_runs_every_minute_and_purge_daily() -> None:
    bindings = _bindings()
    tick, purge = bindings["scheduler_tick"], bindings["audit_purge"]
    assert tick["type"] == purge["type"] == "timerTrigger"
    assert tick["schedule"] == "0 */1 * * * *"
    assert croniter.is_valid(purge["schedule"], second_at_beginning=True)
    assert not tick["runOnStartup"] and not purge["runOnStartup"]


def test_worker_binds_to_service_bus_by_setting_names() -> None:
    worker = _bindings()["sync_worker"]
    assert worker["type"] == "serviceBusTrigger"
    # Setting names, not values: identity (`__fullyQualifiedNamespace`) or a connection string.
    assert worker["connection"] == "ServiceBusConnection"
    assert worker["queueName"] == "%SYNC_QUEUE_NAME%"


def test_webhook_is_an_http_trigger_taking_posts_with_a_function_key() -> None:
    webhook = _bindings()["dynamics_webhook"]
    assert webhook["type"] == "httpTrigger"
    assert webhook["route"] == "dynamics/webhook"
    assert webhook["methods"] == ["POST"]
    assert webhook["authLevel"] == "FUNCTION"


def test_local_settings_example_names_the_same_settings() -> None:
    assert "SYNC_QUEUE_NAME" in EXAMPLE
    assert any(name.startswith("ServiceBusConnection") for name in EXAMPLE)
    assert "AzureWebJobsStorage" in EXAMPLE


def test_under_core_tools_the_example_enqueues_where_the_worker_trigger_listens() -> None:
    # `func start` reads local.settings.json: the scheduler sends to SYNC_QUEUE_BACKEND, the
    # worker receives from its trigger's queue; they must be the same, or nothing is consumed.
    worker = _bindings()["sync_worker"]
    assert Settings(**EXAMPLE).queue_backend is TRIGGER_QUEUES[worker["type"]]
    assert any(name.split("__")[0] == worker["connection"] for name in EXAMPLE)


def test_the_example_sets_no_host_feature_flag() -> None:
    # EnableWorkerIndexing is the default of the v2 model's host; the flag is obsolete.
    assert "AzureWebJobsFeatureFlags" not in EXAMPLE


def test_admin_api_is_one_http_trigger_for_every_method_under_admin_with_a_function_key() -> None:
    admin = _bindings()["admin_api"]
    assert admin["type"] == "httpTrigger"
    assert admin["route"] == "admin/{*path}"
    assert not admin.get("methods")  # every method: FastAPI answers 405 itself, as problem+json
    assert admin["authLevel"] == "FUNCTION"


def test_the_local_host_refuses_service_bus_saying_which_path_uses_which_queue() -> None:
    from shared.errors import ConfigurationError
    from shared.localhost.run import build_host
    from shared.runtime import Runtime

    runtime = Runtime(Settings(**EXAMPLE))  # the example as copied for `func start`
    with pytest.raises(ConfigurationError) as refused:
        build_host(runtime)
    assert "SYNC_QUEUE_BACKEND=StorageQueue" in str(refused.value)
    assert "is for `func start`" in str(refused.value)
