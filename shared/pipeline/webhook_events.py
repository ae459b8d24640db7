"""What a webhook event does once its post is accepted: recorded once, turned into targets.

PLACEHOLDER until the recorder lands in this issue: the signature is the contract the
endpoint (`webhook_intake`) calls.
"""

from __future__ import annotations

from enum import StrEnum

from shared.runtime import Runtime
from shared.storage.webhook_registrations import WebhookRegistration
from shared.webhooks.event import ChangeEvent


class RecordOutcome(StrEnum):
    RECORDED = "recorded"  # new: targets noted, runs started or left to the running ones
    DUPLICATE = "already recorded"  # a redelivery of an event taken before: nothing changes
    OWN_WRITE = "written by the connector"  # loop prevention: the connector's own change
    NOT_SYNCED = "nothing to sync"  # a table or change no sync type reads


def record_event(
    rt: Runtime, event: ChangeEvent, registration: WebhookRegistration
) -> RecordOutcome:
    """Record `event` durably (idempotent on `event.key`) and start or leave the runs it
    needs. Raises only for storage faults (the endpoint answers 503: Dataverse retries once)."""
    raise NotImplementedError("the webhook recorder lands later in issue 11")
