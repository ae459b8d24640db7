"""Errors, grouped by what the caller should do about them.

SyncError                      base of everything the product raises on purpose
├── RetriableError             transient: 429, 5xx, timeouts, dropped connections
│   └── RetriesExhausted       still failing after the bounded retries: fails the run
├── FatalError                 retrying cannot help: fails the run with its message
│   ├── ConfigurationError     a setting or secret is missing or wrong
│   ├── AuthenticationError    the platform or Dataverse refused the credentials
│   └── ApiError               a 4xx the API explained (carries the API's code)
├── SkippableError             one bad record: count it, note its key, carry on
├── InvalidMessage             a queue message that breaks the contract: dead-letter it
└── ConcurrencyConflict        an ETag-conditional write lost a race
    └── LeaseLost              another worker took the run over
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class; `str(error)` is written to the audit, so keep it readable and secret-free."""


class RetriableError(SyncError):
    pass


class RetriesExhausted(RetriableError):
    pass


class FatalError(SyncError):
    pass


class ConfigurationError(FatalError):
    pass


class AuthenticationError(FatalError):
    pass


class ApiError(FatalError):
    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SkippableError(SyncError):
    pass


class InvalidMessage(SyncError):
    pass


class ConcurrencyConflict(SyncError):
    pass


class LeaseLost(ConcurrencyConflict):
    """Another worker took the run over (its lease expired): stop without writing more."""


class PreconditionFailed(ConcurrencyConflict):
    """An API refused a conditional write (HTTP 412): the record changed since it was read
    (a stale `If-Match` ETag) or it already exists (`If-None-Match: *`, a duplicate key).
    The message is the API's own, fit for the audit."""

    def __init__(self, message: str, *, status: int = 412, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class WriteOutcomeUnknown(RetriableError):
    """A write that is not safe to resend lost its connection after it was sent: it may or
    may not have been applied. Not retried automatically; a later run can redo it."""
