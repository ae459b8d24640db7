"""What the Dotdigital sandbox puts on the wire: JSON bodies, both error envelopes, dates, and
the v2 paging parameters.

v2 errors are `{"message": "... ERROR_X"}`; v3 errors `{"errorCode", "description", "details"}`
(details items `{item, description}`, as the v3 spec's schema has them).

Where the docs are silent the sandbox chooses, and says so here (INFER):
- v3 routes answer their own envelope for auth, rate-limit and server errors too:
  401 `unauthorized`, 403 `forbidden`, 429 `tooManyRequests`, 5xx `internalServerError` /
  `serviceUnavailable`. The legacy flat-rate limit on a v3 route is 400 with errorCode
  `ERROR_APIUSAGE_EXCEEDED` (the v2 token).
- A v2 `select` outside 1..max or a negative `skip` is 400 `ERROR_PARAMETER_INVALID`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

V3_PREFIX = "/contacts/v3"


def is_v3(path: str) -> bool:
    return path == V3_PREFIX or path.startswith(V3_PREFIX + "/")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def no_content() -> Response:
    return Response(status_code=204)


def v2_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"message": message}, status, headers)


def v3_error(
    status: int,
    code: str,
    description: str,
    details: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"errorCode": code, "description": description}
    if details:
        body["details"] = [{"item": item, "description": text} for item, text in details]
    return json_response(body, status, headers)


def server_error(path: str, status: int) -> Response:
    if is_v3(path):
        code = "serviceUnavailable" if status == 503 else "internalServerError"
        return v3_error(
            status,
            code,
            "The service is unavailable." if status == 503 else "An error has occurred.",
        )
    if status == 503:
        return v2_error(503, "The service is unavailable.")
    return v2_error(status, "An error has occurred.")


def iso(seconds: float) -> str:
    """Sandbox clock seconds as ISO 8601 UTC with a Z (whole seconds)."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: str) -> float | None:
    """An ISO 8601 date or date-time (naive = UTC) as clock seconds; None if not a date."""
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


async def read_json(request: Request) -> tuple[bool, Any]:
    """(ok, body): ok is False when the body is not JSON."""
    try:
        return True, json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return False, None


class BadParameter(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadParameter(f"The {name} parameter must be a whole number.") from None


def select_skip(request: Request, *, default: int = 1000, maximum: int = 1000) -> tuple[int, int]:
    """The v2 `select` (1..maximum) and `skip` (>= 0) of a request; BadParameter if invalid."""
    select = int_param(request, "select", default)
    skip = int_param(request, "skip", 0)
    if not 1 <= select <= maximum:
        raise BadParameter(f"The select parameter must be between 1 and {maximum}.")
    if skip < 0:
        raise BadParameter("The skip parameter must not be negative.")
    return select, skip


def parameter_error(error: BadParameter) -> Response:
    return v2_error(400, f"{error.message} ERROR_PARAMETER_INVALID")


def bool_param(request: Request, name: str) -> bool:
    return (request.query_params.get(name) or "").lower() == "true"
