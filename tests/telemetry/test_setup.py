"""Telemetry is off unless a setting chooses where it goes; a misspelt choice stops the app."""

from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.telemetry.setup import configure


def test_off_by_default() -> None:
    assert configure({}) == "none"
    assert configure({"TELEMETRY_EXPORTER": "  "}) == "none"


def test_an_unknown_exporter_is_refused_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"TELEMETRY_EXPORTER.*console, otlp, none"):
        configure({"TELEMETRY_EXPORTER": "jaeger"})
