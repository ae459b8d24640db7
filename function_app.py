"""Azure Functions entry point (Python v2 model): logging and blueprint registration only."""

from __future__ import annotations

import logging

import azure.functions as func

from functions import admin, console, maintenance, scheduler, webhooks, worker
from shared.startup import check_app_settings
from shared.telemetry.setup import configure as configure_telemetry

logging.getLogger("azure").setLevel(logging.WARNING)
# A setting that cannot work (still a Key Vault reference the platform did not resolve, or an
# invalid value) stops the app here: the host's startup log names it, and no function is
# indexed, so a deployment's smoke check fails at once instead of runs failing later.
check_app_settings()
# Traces, metrics and logs to Azure Monitor (or console / OTLP locally) before any function runs.
configure_telemetry()

app = func.FunctionApp()
for blueprint in (scheduler.bp, worker.bp, maintenance.bp, webhooks.bp, admin.bp, console.bp):
    app.register_functions(blueprint)
