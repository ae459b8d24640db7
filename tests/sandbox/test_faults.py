"""Shared sandbox plumbing: deterministic faults, request budgets, the manual clock, servers."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.clock import ManualClock
from sandbox.faults import Faults, RateWindow
from sandbox.server import start_server


def decisions(faults: Faults, count: int) -> list[str]:
    out = []
    for _ in range(count):
        decision = faults.decide()
        out.append("ok" if decision is None else f"{decision.kind}:{decision.status}")
    return out


def test_random_faults_are_reproducible_from_the_seed() -> None:
    faults = Faults(seed=42)
    faults.set_error_rate(500, 0.2)
    faults.set_error_rate(503, 0.2)
    faults.set_drop_rate(0.1)
    first = decisions(faults, 200)

    faults.reset()
    faults.set_error_rate(500, 0.2)
    faults.set_error_rate(503, 0.2)
    faults.set_drop_rate(0.1)

    assert decisions(faults, 200) == first
    assert {"ok", "error:500", "error:503", "drop:0"} <= set(first)


def test_lost_responses_and_throttles_are_drawn_from_the_seed_too() -> None:
    faults = Faults(seed=7)
    faults.set_lose_rate(0.2)
    faults.set_throttle(0.2, seconds=3)
    first = decisions(faults, 200)
    faults.reset()
    faults.set_lose_rate(0.2)
    faults.set_throttle(0.2, seconds=3)

    assert decisions(faults, 200) == first
    assert {"ok", "lose:0", "throttle:429"} <= set(first)
    assert faults.injected["lose"] == first.count("lose:0")


def test_scripted_faults_come_first_and_in_order() -> None:
    faults = Faults()
    faults.fail_next(503, 2)
    faults.drop_next()
    assert decisions(faults, 4) == ["error:503", "error:503", "drop:0", "ok"]


def test_a_failing_route_fails_every_request_of_its_template_until_cleared() -> None:
    faults = Faults()
    faults.fail_route("/v2/campaigns/{campaignId}/clicks/since-date/{date}", 503)

    def status(path: str) -> int | None:
        decision = faults.decide(path)
        return None if decision is None else decision.status

    assert status("/v2/campaigns/7/clicks/since-date/2026-01-01") == 503
    assert status("/v2/campaigns/8/clicks/since-date/2026-02-01") == 503  # every call
    assert status("/v2/campaigns/7/page-views/since-date/2026-01-01") is None
    assert status("/v2/campaigns/7/clicks/since-date/2026-01-01/extra") is None
    faults.clear_routes()
    assert status("/v2/campaigns/7/clicks/since-date/2026-01-01") is None
    with pytest.raises(ValueError, match="5xx"):
        faults.fail_route("/v2/x", 404)


def test_rates_are_probabilities() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.set_error_rate(500, 1.5)
    with pytest.raises(ValueError):
        faults.set_error_rate(404, 0.5)


def test_rate_window_refills_when_the_window_ends() -> None:
    clock = ManualClock(start=1_000)
    window = RateWindow(2, 60, clock.now)
    assert [window.try_consume() for _ in range(3)] == [True, True, False]
    assert window.seconds_until_reset() == 60
    clock.advance(45)
    assert window.seconds_until_reset() == 15
    clock.advance(15)
    assert window.try_consume()
    assert window.remaining == 1


def test_manual_clock_records_sleeps() -> None:
    clock = ManualClock(start=100.7)
    clock.sleep(2.5)
    assert clock.now() == 102.5
    assert clock.sleeps == [2.5]
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_start_server_serves_plain_http_and_stops() -> None:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    with start_server(Starlette(routes=[Route("/", hello)])) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url + "/").text == "hello"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/", timeout=1)
