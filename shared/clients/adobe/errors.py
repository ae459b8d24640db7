"""How ACS answers errors, read into the product's error tree.

Two shapes come back. The adobe.io gateway answers JSON: `{"error_code": "401013", "message":
"Oauth token is not valid"}` (auth, API key, 429 `429050`), and a wrong organization in the
URL `{"code": 500, "message": "Oops. ... Check your URI ..."}`. The Campaign engine answers
text carrying its codes, mostly with HTTP 500 even for bad input (`XTK-170036` attribute
unknown, `RST-360011 ... enumeration`, `PGS-220000 ... duplicate key`), sometimes a bare JSON
string (`"RST-360011 ... rc=-2003"`). A 5xx that carries no engine code is the platform's
trouble and is retried; an engine code is a refusal, and repeating it cannot help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from shared.clients.retry import status_description
from shared.errors import (
    ApiError,
    BadInputError,
    ConflictError,
    NotFoundError,
    RetriableError,
)

_ENGINE_CODE = re.compile(r"\b([A-Z]{3}-\d{6})\b")
_WRONG_ORGANIZATION = "check your uri"
MAX_TEXT = 400


@dataclass(frozen=True)
class AdobeErrorBody:
    """An error answer: the message to show, the gateway's `error_code` or the first engine
    code, and whether the body was JSON at all (the signal lockout's is not)."""

    message: str
    gateway_code: str | None = None
    engine_codes: tuple[str, ...] = ()
    is_json: bool = True
    wrong_organization: bool = False

    @property
    def engine_code(self) -> str | None:
        return self.engine_codes[0] if self.engine_codes else None


def _text_body(text: str, *, is_json: bool) -> AdobeErrorBody:
    flat = " ".join(text.split())[:MAX_TEXT]
    return AdobeErrorBody(flat, engine_codes=tuple(_ENGINE_CODE.findall(text)), is_json=is_json)


def read_error(response: httpx.Response) -> AdobeErrorBody:
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip() or status_description(response)
        return _text_body(text, is_json=False)
    if isinstance(body, str):  # a bare JSON string: engine text
        return _text_body(body, is_json=True)
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error_description") or "").strip()
        code = body.get("error_code") or body.get("error")
        if code is not None:
            return AdobeErrorBody(message or str(code), gateway_code=str(code))
        if message:
            wrong = _WRONG_ORGANIZATION in message.lower()
            parsed = _text_body(message, is_json=True)
            return AdobeErrorBody(
                parsed.message, engine_codes=parsed.engine_codes, wrong_organization=wrong
            )
    return AdobeErrorBody(status_description(response))


class DuplicateKey(ConflictError):
    """The engine refused a write that would repeat a unique key (`PGS-220000`): the record
    exists already. Re-read it by its key rather than writing again; never retried as is."""

    def __init__(self, message: str, *, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class RecordNotFound(NotFoundError):
    """What an href or a key names does not exist (`RST-360011 ... Unable to find document`)."""

    def __init__(self, message: str, *, code: str | None) -> None:
        super().__init__(message)
        self.code = code


class EngineRefusal(BadInputError):
    """The engine refused the request's content (`XTK-170036` unknown attribute, a value not
    in an enumeration, an undeclared signal parameter): the data must change first."""

    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ForeignHref(ApiError):
    """An href (a `next.href`, a caller's saved position) that leaves the configured base URL:
    the client would send its token there, so it is not followed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=200, code="FOREIGN_HREF")


class SignalLockedOut(RetriableError):
    """A workflow's signal was triggered less than 10 minutes ago (ACS allows one trigger
    every 10 minutes). Retriable: the run tries again later, past `next_allowed_at` (UTC text
    as the platform gave it, or None when it did not say)."""

    def __init__(self, message: str, *, next_allowed_at: str | None) -> None:
        super().__init__(message)
        self.next_allowed_at = next_allowed_at
