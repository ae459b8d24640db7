"""ChangeEvents as the endpoint builds them, for tests of what comes after it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.webhooks.event import ChangeEvent

SAMPLE_USER = "75c2dd85-e89e-e711-8122-000d3aa2331c"  # the documented sample's user


def change_event(
    message: str,
    entity: str,
    record_id: str,
    *,
    version: str = "1",
    when: datetime = datetime(2026, 11, 27, tzinfo=UTC),
    **fields: Any,
) -> ChangeEvent:
    return ChangeEvent(
        organization_id="4ef5b371-e89e-e711-8122-000d3aa2331c",
        organization_domain="contoso.crm.dynamics.com",
        correlation_id="b374239d-4233-41a9-8b17-a86cb4f737b5",
        message=message,
        entity=entity,
        record_id=record_id,
        version=version,
        operation_created=when,
        user_id=SAMPLE_USER,
        initiating_user_id=SAMPLE_USER,
        depth=1,
        **fields,
    )
