"""The local host's HTTP side: `/api/<route>` of each HTTP-triggered function, served by
uvicorn in a background thread, each request handed to the function as a `func.HttpRequest`
(with a `func.Context` to a function that names one, as the admin API's async function does).

Function keys are NOT checked here, as Azure Functions Core Tools does not check them locally:
the auth level matters in Azure only (the webhook checks its own key either way).
"""

from __future__ import annotations

import inspect
import logging
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.localhost.bindings import IndexedFunction

log = logging.getLogger(__name__)

PREFIX = "api"  # host.json's extensions.http.routePrefix default
# A route template's parameter: {name}, {name:constraint}, {name?}, {*name} (catch-all).
_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?(\??)\}")


@dataclass(frozen=True)
class HttpRoute:
    function: IndexedFunction
    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str]  # empty: any method, as the host does when none are named

    @classmethod
    def of(cls, function: IndexedFunction) -> HttpRoute:
        template = str(function.trigger.get("route") or function.name).strip("/")
        methods = frozenset(str(m).upper() for m in function.trigger.get("methods") or ())
        return cls(function, template, _compile(template), methods)


def _compile(template: str) -> re.Pattern[str]:
    parts, last = [], 0
    for match in _PARAMETER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        catch_all, name, optional = match.groups()
        parts.append(f"(?P<{name}>{'.*' if catch_all else '[^/]+'}){'?' if optional else ''}")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.IGNORECASE)


def http_routes(functions: list[IndexedFunction]) -> list[HttpRoute]:
    return [HttpRoute.of(f) for f in functions if f.trigger["type"] == "httpTrigger"]


def asgi_app(routes: list[HttpRoute]) -> Starlette:
    async def handle(request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        for route in routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.methods and request.method not in route.methods:
                allow = ", ".join(sorted(route.methods))
                return Response(status_code=405, headers={"Allow": allow})
            return await _call(route, request, {k: v for k, v in match.groupdict().items() if v})
        return JSONResponse({"detail": f"No function serves /{PREFIX}/{path}"}, status_code=404)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route(f"/{PREFIX}/{{path:path}}", handle, methods=methods)])


async def _call(route: HttpRoute, request: Request, params: dict[str, str]) -> Response:
    http_request = func.HttpRequest(
        request.method,
        str(request.url),
        headers=dict(request.headers),
        params=dict(request.query_params),
        route_params=params,
        body=await request.body(),
    )
    call = route.function.call
    # The host passes a `context` to a function that names one.
    args: tuple[object, ...] = (http_request, LocalContext(route.function.name))
    if "context" not in inspect.signature(call).parameters:
        args = args[:1]
    try:
        if inspect.iscoroutinefunction(call):
            answer = await call(*args)  # on the event loop, as the host runs async functions
        else:
            # A synchronous function (storage I/O): off the event loop, as the host does.
            answer = await run_in_threadpool(call, *args)
    except Exception:
        log.exception("HTTP function %s failed", route.function.name)
        return Response(status_code=500)
    return Response(
        answer.get_body(),
        status_code=answer.status_code,
        headers=dict(answer.headers),
        media_type=answer.mimetype,
    )


class LocalContext(func.Context):
    """The invocation context a function may ask for: its name and a fresh invocation id."""

    def __init__(self, function_name: str) -> None:
        self._name = function_name
        self._invocation_id = str(uuid.uuid4())
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return ""

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


class HttpServer:
    """uvicorn serving `app` on 127.0.0.1:`port` (0: a free port) until `stop()`."""

    def __init__(self, app: Starlette, port: int = 0, *, startup_timeout: float = 10.0) -> None:
        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",
            lifespan="off",
            loop="asyncio",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"localhost-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the local host's HTTP server on port {self.port} did not start"
                )
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()
