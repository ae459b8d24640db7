"""What the ACS sandbox puts on the wire: JSON bodies, the gateway's JSON errors and the
engine's text errors (XTK/RST/PGS codes, mostly HTTP 500), and how writes are checked.

Where the documentation is silent the sandbox chooses, and says so (INFER):
- IMS refuses a wrong client id or secret with 400 `{"error":"invalid_client", ...}`.
- A missing or wrong `X-Api-Key` is 403 `{"error_code":"403000","message":"Api Key is invalid"}`.
- An attribute the resource does not have is 500 `XTK-170036` (the documented bad-PKey text).
- The signal lockout answers 429 with a text/plain body naming the next allowed time.
- A signal on a workflow that is not running is 500 `RST-360011 ... is not started`.
- Injected 5xx faults answer a text body with no engine code (a proxy's answer).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from sandbox.adobe.state import ALIASES, ENUMERATIONS, ResourceTable


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json;charset=utf-8",
        headers=headers,
    )


def gateway_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"error_code": code, "message": message}, status, headers)


def wrong_organization() -> Response:
    return json_response(
        {"code": 500, "message": "Oops. Something went wrong. Check your URI and try again."}, 500
    )


def engine_error(text: str, status: int = 500) -> Response:
    """The engine's error: plain text carrying its codes."""
    return Response(text, status_code=status, media_type="text/plain;charset=utf-8")


def not_found(what: str, *, bare_json_string: bool = False) -> Response:
    text = (
        "RST-360011 An error has occurred - please contact your administrator. "
        f"Unable to find document '{what}'. Error rc=-2003"
    )
    if bare_json_string:  # observed: the same text as a bare JSON string (aio-lib issue #51)
        return json_response(text, 404)
    return engine_error(text, 404)


def proxy_error(status: int) -> Response:
    return Response(f"{status} Service Unavailable", status_code=status, media_type="text/plain")


class WriteRefused(Exception):
    """A write the engine refuses: `response` is its answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def checked_values(table: ResourceTable, body: Any) -> dict[str, Any]:
    """The body's fields in their technical names (`denyList*` read as `blackList*`), checked
    against the resource's attributes and enumerations; raises WriteRefused."""
    if not isinstance(body, dict):
        raise WriteRefused(engine_error("XTK-170036 The request body must be a JSON object."))
    known = table.fields()
    values: dict[str, Any] = {}
    for raw_name, value in body.items():
        name = ALIASES.get(raw_name, raw_name) if table.name == "profile" else raw_name
        if name in ("PKey", "href"):
            continue
        if name not in known:
            raise WriteRefused(
                engine_error(
                    f"XTK-170036 Unable to parse expression '{raw_name}'. "
                    f"SCM-120030 Attribute unknown '{raw_name}' in the '{table.name}' resource."
                )
            )
        if table.name == "profile" and name in ENUMERATIONS:
            enumeration, allowed = ENUMERATIONS[name]
            if value not in allowed:
                raise WriteRefused(
                    engine_error(
                        f"RST-360011 An error has occurred - please contact your administrator. "
                        f"The value '{value}' is not valid for the '{enumeration}' enumeration."
                    )
                )
        values[name] = value
    return values


def duplicate_key(table: ResourceTable, field: str, value: Any) -> Response:
    return engine_error(
        "PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint "
        f'"{table.name.lower()}_{field.lower()}" DETAIL:  Key ({field.lower()})=({value}) '
        "already exists. XSV-350011 Error while executing the method 'Write' of service "
        "'xtk:persist'."
    )
