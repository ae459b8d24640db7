"""The versioned message contract between the scheduler (or Sync Now) and the worker."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import from_json

from shared.errors import InvalidMessage
from shared.sync_types import SyncType

MAX_PROBLEMS = 5  # validation problems named in an InvalidMessage (a body can have thousands)
MAX_LOCATION = 80  # characters of a problem's location (a key can be a megabyte long)
MAX_UNKNOWN_FIELDS = 16  # a newer version's additions are ignored; more than this is junk
MAX_REPORTED = 100  # unknown field names remembered as logged, per process

log = logging.getLogger(__name__)
_reported: set[str] = set()
_reported_lock = threading.Lock()


class Trigger(StrEnum):
    SCHEDULED = "Scheduled"
    MANUAL = "Manual"
    CONTINUATION = "Continuation"
    RECOVERY = "Recovery"
    DRY_RUN = "Dry run"  # Sync Now --dry-run: reads and decisions only, writes recorded
    WEBHOOK = "Webhook"  # Dynamics webhook events for this (account, sync type)
    RETRY = "Retry"  # `failed retry`: the records (lists) a run failed, as targets


class SyncRequest(BaseModel):
    """Run ONE sync type for ONE account. `run_id` ties every message of a run together."""

    # Unknown fields are ignored (and logged once), not refused: during a rolling deploy a
    # worker of the previous version reads what the new one sends, and a refused message is
    # dead-lettered, never retried. A field that changes what a run does needs a new version.
    model_config = ConfigDict(frozen=True, extra="ignore")

    version: Literal[1] = 1
    account_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
    sync_type: SyncType
    run_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    trigger: Trigger
    sequence: int = Field(default=0, ge=0)
    # How often a worker put this message back because another worker held the run's lease.
    deferrals: int = Field(default=0, ge=0)
    enqueued_utc: AwareDatetime
    # W3C trace context of the span that sent the message (tick, request or previous slice), so
    # a run is one trace. Optional: messages sent before it existed still parse.
    traceparent: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
    )

    @model_validator(mode="before")
    @classmethod
    def _note_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = data.keys() - cls.model_fields.keys()
            if len(unknown) > MAX_UNKNOWN_FIELDS:  # no version adds that many: not a request
                raise ValueError(
                    f"{len(unknown):,} fields this version does not know (at most "
                    f"{MAX_UNKNOWN_FIELDS} are taken for a newer version's additions)"
                )
            _report_unknown(unknown)
        return data

    @property
    def message_id(self) -> str:
        """Stable per (run, step): Service Bus duplicate detection drops a second send."""
        base = f"{self.run_id}-{self.sequence}"
        return f"{base}-d{self.deferrals}" if self.deferrals else base

    def to_json(self) -> str:
        # Without a trace the field is left out: the body is then one a worker of the version
        # before it (which refused unknown fields) still reads while a deployment rolls out.
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def parse(cls, body: bytes | str) -> SyncRequest:
        try:
            return cls.model_validate_json(body)
        except ValidationError as error:
            errors = error.errors(include_url=False, include_input=False)
            problems = "; ".join(
                f"{_location(e['loc'])}: {e['msg']}" for e in errors[:MAX_PROBLEMS]
            )
            if len(errors) > MAX_PROBLEMS:
                problems += f"; and {len(errors) - MAX_PROBLEMS} more"
            raise InvalidMessage(f"Invalid sync request: {problems}") from error

    def follow_up(self, trigger: Trigger, now: datetime) -> SyncRequest:
        return self.model_copy(
            update={"trigger": trigger, "sequence": self.sequence + 1, "enqueued_utc": now}
        )


def _report_unknown(names: set[str]) -> None:
    """Log each unknown field name once per process (a newer sender adds it to every message)."""
    if not names:
        return
    with _reported_lock:
        new = sorted(n for n in names if n not in _reported)[:MAX_PROBLEMS]
        if not new or len(_reported) >= MAX_REPORTED:
            return
        _reported.update(new)
    shown = ", ".join(n if len(n) <= MAX_LOCATION else n[:MAX_LOCATION] + "..." for n in new)
    log.warning(
        "Sync request fields this version does not know were ignored: %s (sent by a newer "
        "version, e.g. during a rolling deploy; logged once)",
        shown,
    )


def _location(loc: tuple[int | str, ...]) -> str:
    text = ".".join(str(p) for p in loc) or "body"
    return text if len(text) <= MAX_LOCATION else text[:MAX_LOCATION] + "..."


def peek_fields(body: bytes | str) -> dict[str, str]:
    """Best-effort account id / sync type of a message that failed validation, for its audit row.

    Only top-level string fields. pydantic's parser, not `json`: it refuses deep nesting with a
    ValueError where `json.loads` overflows the stack (RecursionError).
    """
    try:
        data: Any = from_json(body)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)}
