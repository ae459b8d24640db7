"""The error the scheduler raises when a schedule or its inputs cannot be accepted."""

from __future__ import annotations

from shared.errors import BadInputError


class ScheduleError(BadInputError):
    """A schedule request that breaks a product rule; the message is shown to the user as is.

    Raised inside pydantic validators too: not being a ValueError, it leaves `SyncWindow(...)`
    and `ScheduleSpec(...)` as itself, with its one-line message, instead of as a
    ValidationError."""
