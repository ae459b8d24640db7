"""Read the functions and their triggers the way the Functions host indexes them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import ConfigurationError


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    trigger: dict[str, Any]
    call: Any  # the user function


_indexed: dict[int, list[IndexedFunction]] = {}


def index(app: Any) -> list[IndexedFunction]:
    """Index once per app, as the host does: `get_functions()` refuses a second build."""
    if id(app) in _indexed:
        return _indexed[id(app)]
    functions = []
    for function in app.get_functions():
        bindings = json.loads(function.get_function_json())["bindings"]
        trigger = next(b for b in bindings if str(b["type"]).endswith("Trigger"))
        functions.append(
            IndexedFunction(function.get_function_name(), trigger, function.get_user_function())
        )
    _indexed[id(app)] = functions
    return functions


def resolve(value: str, app_settings: Mapping[str, str]) -> str:
    """Expand `%SETTING%` from the app settings, as the host does for binding expressions."""

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in app_settings:
            raise ConfigurationError(f"Binding expression %{name}% names an unset app setting.")
        return app_settings[name]

    return re.sub(r"%([^%]+)%", setting, value)
