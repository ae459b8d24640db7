"""The OptOut end-to-end tests' fixtures: the sandboxes' states, and one clock for Dynamics,
Campaign and the connector (autouse)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import AdobeSandbox, DataverseSandbox


@pytest.fixture(autouse=True)
def one_time(
    dataverse_sandbox: DataverseSandbox, adobe_sandbox: AdobeSandbox, clock: ManualClock
) -> Iterator[None]:
    """Dynamics, Campaign and the connector read one clock: the rule compares the first two,
    the watermark the last with Campaign's."""
    now = lambda: clock.now.timestamp()  # noqa: E731
    dataverse_sandbox.state.clock = now
    adobe_sandbox.state.clock = now
    yield
