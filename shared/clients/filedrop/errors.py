"""The file drop's errors: an unreachable drop is retried (the transfer resumes from its
manifest), a refusal needs a person."""

from __future__ import annotations

from shared.errors import FatalError, RetriableError


class DropUnreachable(RetriableError):
    """The SFTP server or S3 endpoint did not answer, or dropped the connection; the next
    attempt resumes with the first part not yet recorded as uploaded."""


class DropRefused(FatalError):
    """The drop refused the transfer (a missing folder or bucket, no permission), or a local
    part no longer matches its manifest."""
