"""The admin API's FastAPI app under /api/admin, its OpenAPI 3.1 document at
/api/admin/openapi.json (every error answer documented as problem+json), and `asgi_app()`,
what the HTTP function hands each request to."""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api import (
    problems,
    routes_accounts,
    routes_adobe,
    routes_audit,
    routes_labels,
    routes_mappings,
    routes_operations,
    routes_programs,
    routes_schedules,
    routes_suppressions,
    routes_timeline,
)
from shared.api.problems import FieldProblem, Problem, documented

log = logging.getLogger(__name__)

PREFIX: Final = "/api/admin"
TITLE: Final = "Dynamics Marketing Sync admin API"
VERSION: Final = "1.0.0"


class Health(BaseModel):
    status: str


health_router = APIRouter(tags=["health"])


@health_router.get("/health", responses=documented())
def health() -> Health:
    """The function app is up and routes requests. No storage call: a liveness check, cheap
    enough for a smoke test or a load balancer probe."""
    return Health(status="ok")


def _operation_id(route: APIRoute) -> str:
    return route.name  # the route functions' names are unique: readable client method names


def create_app() -> FastAPI:
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description=(
            "Manage the connector's email accounts, schedules, audit, data labels and mappings. "
            "Every error is application/problem+json (RFC 9457) with a one-line `detail`."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        redirect_slashes=False,  # an unknown path is a 404 problem, never a redirect
        generate_unique_id_function=_operation_id,
    )
    for module in (
        routes_accounts,
        routes_schedules,
        routes_audit,
        routes_labels,
        routes_mappings,
        routes_suppressions,
        routes_timeline,
        routes_programs,
        routes_adobe,
        routes_operations,
    ):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(health_router, prefix=PREFIX)
    problems.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    # The problem bodies are referenced by hand (as problem+json, not application/json), so
    # their schemas are added here.
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldProblem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    return spec


class _Contained:
    """Starlette answers an unexpected error with the app's 500 problem, then raises it again
    for the server to log. The error is logged already (problems._unexpected): raising it out
    of the function would make the Functions host answer a bare 500 instead of the problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if not started:
                raise


def asgi_app() -> ASGIApp:
    return _Contained(create_app())
