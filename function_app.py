"""Azure Functions entry point (Python v2 model): logging and blueprint registration only."""

from __future__ import annotations

import logging

import azure.functions as func

from functions import admin, maintenance, scheduler, webhooks, worker

logging.getLogger("azure").setLevel(logging.WARNING)

app = func.FunctionApp()
for blueprint in (scheduler.bp, worker.bp, maintenance.bp, webhooks.bp, admin.bp):
    app.register_functions(blueprint)
