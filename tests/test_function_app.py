"""The functions as the Functions host indexes them (`app.get_functions()`)."""

from __future__ import annotations

import json
from typing import Any

from croniter import croniter

from function_app import app
from shared.localhost.bindings import index


def _bindings() -> dict[str, dict[str, Any]]:
    # index() reads app.get_functions() once, the way the Functions host indexes the app.
    return {f.name: f.trigger for f in index(app)}


def test_every_blueprint_function_is_registered() -> None:
    assert set(_bindings()) == {
        "scheduler_tick", "sync_worker", "audit_purge", "dynamics_webhook", "admin_api",
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
    from shared.azurite import PROJECT_ROOT

    values = json.loads((PROJECT_ROOT / "local.settings.example.json").read_text())["Values"]
    assert "SYNC_QUEUE_NAME" in values
    assert any(name.startswith("ServiceBusConnection") for name in values)
    assert "AzureWebJobsStorage" in values


def test_admin_api_is_one_http_trigger_for_every_method_under_admin_with_a_function_key() -> None:
    admin = _bindings()["admin_api"]
    assert admin["type"] == "httpTrigger"
    assert admin["route"] == "admin/{*path}"
    assert not admin.get("methods")  # every method: FastAPI answers 405 itself, as problem+json
    assert admin["authLevel"] == "FUNCTION"
