"""The client every Dotdigital client test uses (each exchange checked against Dotdigital's
OpenAPI) and the sandbox state the tests arrange and inspect."""

from __future__ import annotations

import pytest

from sandbox.dotdigital.state import DotdigitalState
from shared.clients.dotdigital import DotdigitalClient
from tests.fixtures.sandboxes import DotdigitalSandbox


@pytest.fixture
def client(validated_dotdigital_client: DotdigitalClient) -> DotdigitalClient:
    return validated_dotdigital_client


@pytest.fixture
def state(dotdigital_sandbox: DotdigitalSandbox) -> DotdigitalState:
    return dotdigital_sandbox.state
