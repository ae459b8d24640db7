"""The running slice's deadline, seen by every wait inside it.

The runner sets it (`until`) for the thread running a slice; the retry policy, the import
poller and any other wait ask `check_wait` before they sleep or start a request. A wait that
would end past the deadline raises `OutOfTime` instead, so a slice ends within its budget plus
at most one HTTP timeout (a request already on the wire), and the run continues from its last
checkpoint in a follow-up message. Outside a slice (the CLI, tests) there is no deadline.

`OutOfTime` is not a failure and uses none of the run's retries, unless a whole slice passes
without one checkpoint. A context variable, not an attribute of the clients: clients are shared
per account across threads and runs. A thread pool does not carry context variables into its
threads: work fanned out inside a slice goes through `in_parallel`, which hands each call a copy
of the caller's context (the deadline and the run's trace with it).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class OutOfTime(BaseException):
    """A wait or a new request would end past the running slice's deadline.

    A BaseException on purpose: it must unwind through every handler of the sync types (which
    catch SyncError or Exception to report a list or a phase as failed) to the runner, which
    pauses the run at its last checkpoint. It is raised only inside a slice.

    `polling`: the wait was between two polls of a job (an import) whose id is checkpointed;
    the run is waiting on the platform, not stuck, and continues after `seconds`."""

    def __init__(self, message: str, *, seconds: float = 0.0, polling: bool = False) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.polling = polling


_deadline: ContextVar[float | None] = ContextVar("slice_deadline", default=None)


@contextmanager
def until(deadline: float) -> Iterator[None]:
    """Bound every wait in this context by `deadline` (a `time.monotonic()` value)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current slice (negative once past it); None outside a slice."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check_wait(seconds: float, what: str, *, polling: bool = False) -> None:
    """Raise OutOfTime if waiting `seconds` now would end past the slice's deadline."""
    left = remaining()
    if left is not None and seconds > left:
        raise OutOfTime(
            f"{what} would wait {seconds:.1f} s, past the slice's time budget "
            f"({max(left, 0.0):.1f} s left)",
            seconds=seconds,
            polling=polling,
        )


def check_start(what: str) -> None:
    """Raise OutOfTime if the slice's deadline has passed: start no new request after it."""
    check_wait(0.0, what)


def in_parallel(work: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """`work` on each item, `workers` at a time, results in order, each call in a copy of the
    caller's context so its waits still see the slice's deadline. The first exception (OutOfTime
    included) is raised once the calls in flight have ended."""
    if workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(contextvars.copy_context().run, work, item) for item in items]
        return [future.result() for future in futures]
