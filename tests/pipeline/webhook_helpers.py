"""A webhook-ready runtime for the endpoint's tests: the key set, the sample's organization
registered, and a recorder that counts what reaches it (the real one is injected later)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from shared.pipeline.webhook_events import RecordOutcome
from shared.runtime import Runtime, install_runtime
from shared.settings import Settings
from shared.storage.webhook_registrations import WebhookRegistration
from shared.webhooks.event import ChangeEvent
from tests.fixtures.runtime import ManualClock
from tests.webhooks.bodies import DOMAIN, ORGANIZATION_ID

KEY = "test-webhook-key-not-a-secret"
CONNECTOR_USER = "0c0c0c0c-0000-4000-8000-000000000001"


@dataclass
class RecordingRecorder:
    outcome: RecordOutcome = RecordOutcome.RECORDED
    events: list[ChangeEvent] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(
        self, rt: Runtime, event: ChangeEvent, registration: WebhookRegistration
    ) -> RecordOutcome:
        assert registration.organization_id == event.organization_id
        if self.fail_with is not None:
            raise self.fail_with
        self.events.append(event)
        return self.outcome


def webhook_settings(settings: Settings, key: str | None = KEY) -> Settings:
    return settings.model_copy(
        update={"dynamics_webhook_key": SecretStr(key) if key is not None else None}
    )


def register(rt: Runtime, *, organization_id: str = ORGANIZATION_ID, domain: str = DOMAIN) -> None:
    rt.webhook_registrations.save(
        WebhookRegistration(
            organization_id=organization_id,
            organization_domain=domain,
            connector_user_id=CONNECTOR_USER,
            registered=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        )
    )


@pytest.fixture
def webhook_runtime(settings: Settings, clock: ManualClock) -> Iterator[Runtime]:
    rt = Runtime(webhook_settings(settings), clock=clock)
    register(rt)
    install_runtime(rt)
    try:
        yield rt
    finally:
        install_runtime(None)


@pytest.fixture
def recorder() -> RecordingRecorder:
    return RecordingRecorder()
