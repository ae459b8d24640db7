"""Dotdigital's two error envelopes, and the client's own errors.

v2 answers `{"message": "... ERROR_X"}` (or `"Error: ERROR_X"`): the code is the trailing token.
v3 answers `{"errorCode": "contacts:x", "description": "...", "details": [{"item", "description"}]}`
(the docs' example spells the detail text `error`; both are read). Either becomes `ApiError` with
`code` set; `ERROR_APIUSAGE_EXCEEDED` (the legacy flat rate limit) is retried like a 429.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.clients.retry import status_description
from shared.errors import ApiError, BadInputError, RetriableError

if TYPE_CHECKING:
    from shared.clients.dotdigital.imports import ImportReport

_ERROR_CODE = re.compile(r"\b(ERROR_[A-Z0-9_]+)\W*$")
RATE_LIMIT_CODES = frozenset({"ERROR_APIUSAGE_EXCEEDED"})


def error_code(message: str) -> str | None:
    """The trailing ERROR_X token of a v2 error message ("... ERROR_X" or "Error: ERROR_X")."""
    match = _ERROR_CODE.search(message.strip())
    return match.group(1) if match else None


def field(item: dict[str, Any], name: str) -> Any:
    """A key of a Dotdigital object whatever its casing (responses are camelCase, some Pascal)."""
    if name in item:
        return item[name]
    lowered = name.lower()
    return next((value for key, value in item.items() if key.lower() == lowered), None)


@dataclass(frozen=True)
class ErrorBody:
    message: str
    code: str | None


def read_error(response: httpx.Response) -> ErrorBody:
    """The message and code of an error response, from either envelope (or its status line)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:300] or status_description(response)
        return ErrorBody(text, error_code(text))
    if isinstance(body, dict):
        code = field(body, "errorCode")
        if isinstance(code, str) and code:
            description = str(field(body, "description") or status_description(response))
            details = []
            for detail in field(body, "details") or []:
                if isinstance(detail, dict):
                    text = field(detail, "description") or field(detail, "error") or ""
                    details.append(f"{field(detail, 'item')}: {text}")
            if details:
                description = f"{description} ({'; '.join(details)})"
            return ErrorBody(f"{description} [{code}]", code)
        message = field(body, "message")
        if message:
            return ErrorBody(str(message), error_code(str(message)))
    return ErrorBody(status_description(response), None)


class PagingLoopError(ApiError):
    """The API handed back a page marker (v3) or a page (v2) it had already given."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=200, code="PAGING_LOOP")


class UnsafeCampaignSendError(BadInputError):
    """A campaign send without address books or contacts: Dotdigital sends it to ALL contacts.

    Raised before any request is made."""


class ImportFailedError(ApiError):
    """A contact import ended in a failure status (RejectedByWatchdog, Failed, ...). `report`
    holds every import of the push as far as it went."""

    def __init__(self, message: str, *, import_id: str, status: str, report: ImportReport) -> None:
        super().__init__(message, status=200, code=status)
        self.import_id = import_id
        self.import_status = status
        self.report = report


class ImportStillRunning(RetriableError):
    """An import did not finish within the client's wait; poll it again later by its id."""

    def __init__(self, message: str, *, import_id: str) -> None:
        super().__init__(message)
        self.import_id = import_id
