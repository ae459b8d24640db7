"""The console's routes under /api/console: each screen asks the admin API (`AdminApi`) and
renders a page; a form posts back to its own screen, which shows the outcome in one line."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from shared.console import auth
from shared.console.access import AccessScreens
from shared.console.admin_client import AdminApi, AdminProblem
from shared.console.data import DataScreens
from shared.console.incident import IncidentScreens
from shared.console.screens import Screens
from shared.console.timeline import TimelineScreen
from shared.console.views import BASE, STATIC, environment
from shared.errors import ConfigurationError
from shared.settings import Settings, get_settings

FRAME_ANCESTORS: Final = "CONSOLE_FRAME_ANCESTORS"

# Scripts, styles and forms only from the console's own origin; framed only by itself and the
# origins of the app setting CONSOLE_FRAME_ANCESTORS (Dynamics 365 orgs by default).
POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; frame-ancestors {ancestors}; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
UNEXPECTED: Final = (
    "The console failed unexpectedly: try again; if it fails again, the function's log says why."
)
# A browser names where a request came from; a form posted from another site is refused.
SAME_SITE: Final = frozenset({"same-origin", "none"})

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def console_app(admin: ASGIApp, environ: Mapping[str, str] | None = None) -> Starlette:
    """The console over `admin`, the admin API's ASGI app (called in process)."""
    env = environment()
    api = AdminApi(admin)
    screens, data, people = Screens(api, env), DataScreens(api, env), TimelineScreen(api, env)
    incident, access = IncidentScreens(api, env), AccessScreens(api, env)
    settings = os.environ if environ is None else environ
    # A setting refused turns every page into its one line (the function app keeps starting).
    misconfigured = ""
    try:
        ancestors = _frame_ancestors(environ)
    except ConfigurationError as error:
        misconfigured, ancestors = str(error), ""
    headers = {
        **SECURITY_HEADERS,
        "Content-Security-Policy": POLICY.format(ancestors=" ".join(("'self'", ancestors)).strip()),
    }

    def secured(response: Response) -> Response:
        response.headers.update(headers)
        return response

    def guarded(handler: Callable[[Request, auth.Viewer], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            viewer = auth.viewer(request.headers, settings)
            if isinstance(viewer, auth.NotAllowed):
                return secured(_refusal(env, viewer, request))
            if misconfigured:
                return secured(_page(env, "message.html", 503, message=misconfigured))
            if request.method == "POST" and not _same_origin(request):
                message = "This form came from another site: open the console and try again."
                return secured(_page(env, "message.html", 403, message=message))
            try:
                answer = await handler(request, viewer)
            except AdminProblem as problem:
                answer = _page(env, "message.html", problem.status, message=problem.detail)
            except Exception:
                # A page, not the host's bare 500; the log has the rest, the page never does.
                log.exception("Console %s %s failed", request.method, request.url.path)
                answer = _page(env, "message.html", 500, message=UNEXPECTED)
            return secured(answer)

        return endpoint

    routes = [
        Route(f"{BASE}/accounts", guarded(screens.accounts)),
        Route(f"{BASE}/accounts/{{account}}", guarded(screens.account), methods=["GET", "POST"]),
        Route(
            f"{BASE}/accounts/{{account}}/schedules",
            guarded(screens.schedules),
            methods=["GET", "POST"],
        ),
        Route(f"{BASE}/accounts/{{account}}/schedules/rows", guarded(screens.schedule_rows)),
        Route(f"{BASE}/accounts/{{account}}/audit", guarded(screens.audit)),
        Route(f"{BASE}/accounts/{{account}}/audit/{{row_key}}", guarded(screens.audit_run)),
        Route(f"{BASE}/accounts/{{account}}/labels", guarded(data.labels), methods=["GET", "POST"]),
        Route(
            f"{BASE}/accounts/{{account}}/mappings", guarded(data.mappings), methods=["GET", "POST"]
        ),
        Route(f"{BASE}/accounts/{{account}}/timeline", guarded(people.timeline)),
        Route(
            f"{BASE}/accounts/{{account}}/suppressions",
            guarded(incident.suppressions),
            methods=["GET", "POST"],
        ),
        Route(
            f"{BASE}/accounts/{{account}}/failed", guarded(incident.failed), methods=["GET", "POST"]
        ),
        Route(f"{BASE}/accounts/{{account}}/reconciliation", guarded(incident.reconciliation)),
        Route(
            f"{BASE}/accounts/{{account}}/programs",
            guarded(access.programs),
            methods=["GET", "POST"],
        ),
        Route(f"{BASE}/accounts/{{account}}/users", guarded(access.users), methods=["GET", "POST"]),
        Route(f"{BASE}/dead-letters", guarded(incident.dead_letters), methods=["GET", "POST"]),
        Mount(f"{BASE}/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)

    async def not_found(request: Request, error: Exception) -> Response:
        message = f"No console page {request.url.path}: start from the email accounts."
        return secured(_page(env, "message.html", 404, message=message))

    app.add_exception_handler(404, not_found)
    return app


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in SAME_SITE
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # a script or curl without a browser's headers
    return origin.split("://", 1)[-1] == request.headers.get("host")


def _page(env: Any, template: str, status: int, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(template).render(**context), status_code=status)


def _refusal(env: Any, refusal: auth.NotAllowed, request: Request) -> HTMLResponse:
    sign_in = ""
    if refusal.sign_in:
        sign_in = f"{auth.SIGN_IN_PATH}?post_login_redirect_uri={quote(request.url.path)}"
    return _page(env, "message.html", refusal.status, message=refusal.message, sign_in=sign_in)


def _frame_ancestors(environ: Mapping[str, str] | None) -> str:
    """The app setting's origins: the function app's settings, or those of `environ` given."""
    if environ is None:
        return get_settings().console_frame_ancestors
    given = {FRAME_ANCESTORS: environ[FRAME_ANCESTORS]} if FRAME_ANCESTORS in environ else {}
    return Settings(**given).console_frame_ancestors
