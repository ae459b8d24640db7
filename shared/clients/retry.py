"""One retry policy for both APIs (tenacity underneath).

Retried: 429 (waiting what the server asked: `Retry-After` in seconds or as an HTTP-date, or
Dotdigital's `x-ratelimit-reset` epoch), 5xx, timeouts and dropped connections (exponential
backoff with jitter), plus anything a client raises as `TransientHttpError` (e.g. Dotdigital's
legacy `ERROR_APIUSAGE_EXCEEDED`). Attempts are bounded (`max_retries` retries after the first
try) and every single wait is capped at `max_wait_seconds`; then `RetriesExhausted` says which
API, what failed, how many attempts and the last error, and nothing secret.

Inside a run slice every wait is also bounded by the slice's deadline (`shared.deadline`): a
retry whose wait would end past it, or an attempt that would start past it, raises `OutOfTime`
and the run continues from its last checkpoint in a follow-up message.

`sleep` and `clock` are injectable so tests record the waits instead of sleeping.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt

from shared import deadline
from shared.errors import RetriableError, RetriesExhausted
from shared.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]

# x-ratelimit-reset values below this are read as "seconds from now", above as a Unix epoch.
_EPOCH_THRESHOLD = 1_000_000_000


class TransientHttpError(RetriableError):
    """A response worth retrying. `retry_after` is the server's requested wait in seconds."""

    def __init__(
        self, description: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.retry_after = retry_after


# Failures after a request was sent: it may have been done (a write must not be resent blindly).
LOST_ANSWER = (httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.WriteError)
# Answers that prove a request was not processed (safe to resend even a write).
NOT_PROCESSED_STATUSES = frozenset({429, 503})


def server_requested_wait(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or x-ratelimit-reset; else None."""
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(when.timestamp() - now, 0.0)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            number = float(reset.strip())
        except ValueError:
            return None
        if number >= _EPOCH_THRESHOLD:
            wait = number - now
            return wait if wait > 0 else None
        return max(number, 0.0)
    return None


def describe_failure(error: BaseException) -> str:
    """A short, secret-free description of why one attempt failed."""
    if isinstance(error, TransientHttpError):
        return str(error)
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    if isinstance(error, httpx.TransportError):
        detail = str(error) or type(error).__name__
        return f"connection failed ({type(error).__name__}: {detail})"
    return f"{type(error).__name__}: {error}"


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TransientHttpError | httpx.TransportError)


def status_description(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def unbound(response: httpx.Response) -> httpx.Response:
    """The response, its (already read) stream replaced by an empty one. httpx binds the
    stream to the response, a reference cycle that only the cyclic garbage collector frees,
    and it runs rarely: the bodies of a list's member pages (megabytes each) piled up, 20 MB
    over a 100,000-member list. Without the cycle a body goes when its reader drops it."""
    response.stream = httpx.ByteStream(b"")
    return response


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    max_wait_seconds: float = 300.0
    backoff_base_seconds: float = 1.0
    sleep: Sleep = time.sleep
    clock: Clock = time.time
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_wait_seconds <= 0 or self.backoff_base_seconds < 0:
            raise ValueError("max_retries >= 0, max_wait_seconds > 0, backoff_base_seconds >= 0")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> RetryPolicy:
        return cls(
            max_retries=settings.http_max_retries,
            max_wait_seconds=settings.http_max_wait_seconds,
            sleep=sleep,
            clock=clock,
            rng=rng or random.Random(),
        )

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (1-based), capped."""
        base = self.backoff_base_seconds * 2.0 ** (attempt - 1)
        return min(base + self.rng.uniform(0, self.backoff_base_seconds), self.max_wait_seconds)

    def wait_for(self, error: BaseException | None, attempt: int) -> float:
        if isinstance(error, TransientHttpError) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait_seconds)
        return self.backoff(attempt)

    def run(self, api: str, operation: str, attempt: Callable[[], T]) -> T:
        """Call `attempt` until it returns, retrying transient failures; see module doc."""

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            seconds = self.wait_for(error, state.attempt_number)
            if state.attempt_number < self.max_attempts:  # the last failure is not waited for
                failure = describe_failure(error) if error else "no result"
                deadline.check_wait(seconds, f"{api}: retrying {operation} ({failure})")
            return seconds

        def bounded_attempt() -> T:
            deadline.check_start(f"{api}: {operation}")
            return attempt()

        def log(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait_seconds = float(state.next_action.sleep) if state.next_action else 0.0
            logger.warning(
                "%s: %s attempt %d/%d failed (%s); retrying in %.1f s",
                api,
                operation,
                state.attempt_number,
                self.max_attempts,
                describe_failure(error) if error else "no result",
                wait_seconds,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(is_transient),  # OutOfTime is not retried
            sleep=self.sleep,
            before_sleep=log,
            reraise=False,
        )
        try:
            return retrying(bounded_attempt)
        except RetryError as exhausted:
            last = exhausted.last_attempt.exception()
            attempts = exhausted.last_attempt.attempt_number
            noun = "attempt" if attempts == 1 else "attempts"
            raise RetriesExhausted(
                f"{api}: {operation} still failing after {attempts} {noun}; last error: "
                f"{describe_failure(last) if last else 'unknown'}"
            ) from last
