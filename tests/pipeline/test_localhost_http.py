"""The local host's HTTP routing: route templates, declared methods, and the request the
function gets (method, headers, query, route parameters, body)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import azure.functions as func
import httpx
import pytest

from shared.localhost.bindings import IndexedFunction
from shared.localhost.http_server import HttpServer, asgi_app, http_routes


def _echo(req: func.HttpRequest) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "header": req.headers.get("x-thing"),
        "query": dict(req.params),
        "route": dict(req.route_params),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(json.dumps(seen), status_code=201, headers={"X-Echo": "1"},
                             mimetype="application/json")  # fmt: skip


def _failing(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("a bug")


ECHO = {"type": "httpTrigger", "route": "items/{id}/parts/{*rest}", "methods": ["PUT"]}
FUNCTIONS = [
    IndexedFunction("echo", ECHO, _echo),
    IndexedFunction("failing", {"type": "httpTrigger", "route": None, "methods": None}, _failing),
    IndexedFunction("tick", {"type": "timerTrigger", "schedule": "0 * * * * *"}, _echo),
]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    server = HttpServer(asgi_app(http_routes(FUNCTIONS)))
    try:
        with httpx.Client(base_url=server.base_url) as client:
            yield client
    finally:
        server.stop()


def test_a_request_reaches_its_function_with_everything_the_host_passes(
    client: httpx.Client,
) -> None:
    answer = client.put(
        "/api/items/42/parts/a/b", params={"q": "1"}, headers={"X-Thing": "yes"}, content=b"hi"
    )

    assert answer.status_code == 201 and answer.headers["x-echo"] == "1"
    assert answer.json() == {
        "method": "PUT", "header": "yes", "query": {"q": "1"},
        "route": {"id": "42", "rest": "a/b"}, "body": "hi",
    }  # fmt: skip


def test_methods_routes_and_failures_answer_as_the_host_does(client: httpx.Client) -> None:
    assert client.get("/api/items/42/parts/a").status_code == 405
    assert client.get("/api/tick").status_code == 404  # not an HTTP function
    assert client.delete("/api/failing").status_code == 500  # no route: the function's name
