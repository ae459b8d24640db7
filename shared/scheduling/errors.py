"""The error the scheduler raises when a schedule or its inputs cannot be accepted."""

from __future__ import annotations


class ScheduleError(ValueError):
    """A schedule request that breaks a product rule; the message is shown to the user as is."""
