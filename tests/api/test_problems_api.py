"""Every error of the admin API is problem+json with a one-line detail: an unknown route, a
wrong method, a product error by its category (HANDLING's status), and an unexpected error
(500 without its text or a traceback, logged instead)."""

from __future__ import annotations

import logging

import httpx
import pytest

from shared.errors import HANDLING, Category, RetriesExhausted
from shared.service import accounts
from tests.api.conftest import problem


def test_health_answers_without_an_account(api: httpx.Client) -> None:
    answer = api.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_an_unknown_route_is_a_404_problem(api: httpx.Client) -> None:
    body = problem(api.get("/nosuch/route"), 404)
    assert body["type"] == "about:blank"
    assert body["detail"] == (
        "No admin API route /api/admin/nosuch/route (see /api/admin/openapi.json)."
    )


def test_a_wrong_method_is_a_405_problem_naming_the_methods_allowed(api: httpx.Client) -> None:
    answer = api.delete("/accounts")
    body = problem(answer, 405)
    assert answer.headers["allow"] == "GET, POST"
    assert body["detail"] == "DELETE is not allowed on /api/admin/accounts: use GET, POST."


def test_an_unexpected_error_is_a_500_problem_without_its_text_and_is_logged(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(rt: object) -> None:
        raise RuntimeError("the table client's internals, not for callers")

    monkeypatch.setattr(accounts, "list_accounts", broken)
    with caplog.at_level(logging.ERROR, logger="shared.api.problems"):
        answer = api.get("/accounts", params={"code": "a-function-key"})
    body = problem(answer, 500)
    assert body["detail"] == "Internal server error"
    assert "internals" not in answer.text
    assert body["instance"] == "/api/admin/accounts"  # never the query (a key may be there)
    assert any("internals" in r.getMessage() or r.exc_info for r in caplog.records)


def test_a_product_error_answers_its_categorys_status(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(rt: object) -> None:
        raise RetriesExhausted("Table Storage did not answer after 3 tries.\nTry again later.")

    monkeypatch.setattr(accounts, "list_accounts", unreachable)
    body = problem(api.get("/accounts"), HANDLING[Category.RETRIABLE].http_status)
    assert body["detail"] == "Table Storage did not answer after 3 tries. Try again later."
    assert body["type"].endswith(":unavailable")
