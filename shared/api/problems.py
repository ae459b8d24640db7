"""Every error of the admin API as a problem+json body (RFC 9457), mapped in one place: the
product's errors by their category through `shared.errors.HANDLING`, the framework's own (bad
request data, unknown route, wrong method) and anything unexpected (500, never a traceback)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException

from shared.errors import Category, SyncError, category_of, handling

log = logging.getLogger(__name__)

MEDIA_TYPE: Final = "application/problem+json"
# Problem types are identifiers, not pages (RFC 9457 3.1.1 allows a non-resolvable URI such as
# a tag URI); one per category of the product's errors. HTTP-level problems use about:blank.
TYPE_PREFIX: Final = "tag:dynamics-dotdigital-connector,2026:problem:"
_CATEGORY_TYPES: Final = {
    Category.RETRIABLE: ("unavailable", "Try again later"),
    Category.FATAL: ("failed", "The connector cannot do this until someone acts"),
    Category.BAD_INPUT: ("bad-input", "The request breaks a rule; nothing was done"),
    Category.CONFLICT: ("conflict", "Conflict with the current state"),
    Category.NOT_FOUND: ("not-found", "Not found"),
}
INTERNAL_DETAIL: Final = "Internal server error"


class FieldProblem(BaseModel):
    field: str = Field(description="Where: `body.name`, `query.limit`, `path.accountId`")
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457). `detail` is one line that says what to do next."""

    type: str = Field(description="The problem type: one per category of error, or about:blank")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The request's path (never its query string)")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Bad request data only: every field that was refused"
    )


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    kind: Category | None = None,
    errors: Sequence[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    if kind is None:
        type_, title = "about:blank", HTTPStatus(status).phrase
    else:
        slug, title = _CATEGORY_TYPES[kind]
        type_ = TYPE_PREFIX + slug
    body = Problem(
        type=type_,
        title=title,
        status=status,
        detail=one_line(detail),
        # The path only: a function key may ride in the query string (?code=).
        instance=request.url.path,
        errors=list(errors) if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def one_line(text: str) -> str:
    return " ".join(text.split()) or "No detail."


def _field(location: Iterable[Any]) -> str:
    return ".".join(str(part) for part in location)


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """pydantic's error list, each as the field it names and its message (no input echo, no
    links to pydantic's documentation)."""
    return [FieldProblem(field=_field(e.get("loc", ())), message=str(e["msg"])) for e in errors]


def _refused(request: Request, problems: list[FieldProblem]) -> JSONResponse:
    first = problems[0] if problems else FieldProblem(field="request", message="refused")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return problem_response(
        request,
        422,
        f"{first.field}: {first.message}{more}",
        kind=Category.BAD_INPUT,
        errors=problems,
    )


async def _product_error(request: Request, error: Exception) -> JSONResponse:
    category = category_of(error)
    status = handling(error).http_status
    if status >= 500:
        # The message is the product's own, secret-free by contract; the log keeps the rest.
        log.warning("Admin API %s %s: %s", request.method, request.url.path, error)
    return problem_response(request, status, str(error), kind=category)


async def _request_invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError | ValidationError)
    return _refused(request, field_problems(error.errors()))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        detail = f"No admin API route {request.url.path} (see /api/admin/openapi.json)."
    elif error.status_code == 405:
        allowed = _allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}: use {allowed}."
        return problem_response(request, 405, detail, headers={"Allow": allowed})
    elif error.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8 JSON): bad input like any
        # other, so the same 422 as a body that breaks a field's rule.
        message = "Cannot read the body: send a JSON object (UTF-8)"
        return _refused(request, [FieldProblem(field="body", message=message)])
    else:
        detail = str(error.detail)
    return problem_response(request, error.status_code, detail, headers=error.headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path takes, from the OpenAPI document's paths: FastAPI makes one route
    per method, and Starlette's own Allow names only the first route's."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("Admin API %s %s failed", request.method, request.url.path)
    return problem_response(request, 500, INTERNAL_DETAIL)


def install(app: FastAPI) -> None:
    app.add_exception_handler(SyncError, _product_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    # A model's own rules checked inside the service (an edited account re-validated).
    app.add_exception_handler(ValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's errors, each as problem+json."""
    every = sorted({*statuses, 422, 500, 503})
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in every
    }
