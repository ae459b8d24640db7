"""Wire formats shared by the Dotdigital client modules: dates, JSON shapes, field access."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.clients.dotdigital.errors import field
from shared.errors import ApiError

__all__ = ["as_list", "as_object", "field", "parse_datetime", "utc_text", "v3_since_filter"]


def utc_text(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, whole seconds: what v2 `{date}` segments and v3 filters take."""
    if value.tzinfo is None:
        raise ValueError("Dotdigital dates must be timezone-aware (UTC)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v3_since_filter(value: datetime) -> str:
    """A v3 `~modified` / `~created` filter value: `gte::2024-05-01T10:00:00Z`."""
    return f"gte::{utc_text(value)}"


def parse_datetime(value: Any) -> datetime | None:
    """A Dotdigital timestamp as an aware UTC datetime (naive values are UTC); None if absent."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(f"Dotdigital returned {what} that is not a JSON object", status=200)
    return body


def as_list(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise ApiError(f"Dotdigital returned {what} that is not a JSON array", status=200)
    return body


def int_field(item: dict[str, Any], name: str, default: int = 0) -> int:
    value = field(item, name)
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def str_field(item: dict[str, Any], name: str, default: str = "") -> str:
    value = field(item, name)
    return default if value is None else str(value)


def bool_field(item: dict[str, Any], name: str) -> bool:
    value = field(item, name)
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)
