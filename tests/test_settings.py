"""Time settings that cannot work together are refused when the app starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings, host_function_timeout


def test_the_defaults_leave_a_slice_inside_its_lease_and_the_host_timeout() -> None:
    settings = Settings()
    assert settings.run_lease_seconds > settings.longest_slice_seconds
    assert settings.longest_slice_seconds <= host_function_timeout()


def test_a_lease_a_slice_can_outlive_is_refused_with_the_sum_it_must_exceed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(RUN_LEASE_SECONDS="300")  # 240 + 121 + 30 = 391 s

    text = str(refused.value)
    assert "RUN_LEASE_SECONDS (300) must be longer than" in text and "(391 s)" in text


def test_a_budget_that_does_not_fit_the_hosts_function_timeout_is_refused() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(RUN_TIME_BUDGET_SECONDS="500", RUN_LEASE_SECONDS="900")

    assert "must fit host.json's functionTimeout (600 s)" in str(refused.value)


def test_function_timeout_is_read_from_host_json(tmp_path: Path) -> None:
    host = tmp_path / "host.json"
    host.write_text('{"version": "2.0", "functionTimeout": "00:05:30"}')
    assert host_function_timeout(host) == 330.0
    host.write_text('{"version": "2.0"}')
    assert host_function_timeout(host) == 600.0  # the Consumption plan's default


def test_the_example_local_settings_are_accepted() -> None:
    example = Path(__file__).resolve().parent.parent / "local.settings.example.json"
    values = json.loads(example.read_text())["Values"]
    settings = Settings(**values)
    assert settings.run_lease_seconds > settings.longest_slice_seconds
