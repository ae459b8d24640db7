"""The sync-type template: what a type declares and the one method it writes.

A sync type is a class with a `declaration` (data), a `Cursor` model, a `start()` that builds
the first cursor, and a `run()` generator that does the work from the cursor on. `run()`
yields after each unit of work whose effects are written (a page pushed, a list finished):
at each yield the runner saves the cursor and the counts together and renews the lease, and
when the slice's time is up it stops there and continues in a follow-up message. `run()`
returns the run's `SyncResult`. A type never writes pause, resume, gate or watermark code.
Every `yield` must follow progress saved in the cursor: a slice that resumes and yields
before doing any work would pause forever.

    class Example(SyncTypeTemplate[ExampleCursor]):
        declaration = SyncDeclaration(SyncType.X, DOTDIGITAL, Direction.TO_DYNAMICS)
        cursor_model = ExampleCursor

        def start(self, run): return ExampleCursor(...)
        def run(self, run):
            for page in ...:           # reads
                ...                    # decisions
                run.sinks...           # writes
                run.cursor.position = page.next
                yield                  # checkpoint
            return SyncResult(message="...")
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from shared.accounts import EmailAccount
from shared.audit import AuditDetail, AuditStatus, Counts
from shared.engine.cursor import Cursor
from shared.engine.declaration import SyncDeclaration
from shared.engine.watermark import Watermarks, WatermarkWindow
from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from shared.runtime import Runtime

C = TypeVar("C", bound=Cursor)
P = TypeVar("P")
K = TypeVar("K", bound=Cursor)


@dataclass(frozen=True)
class SyncResult:
    status: AuditStatus = AuditStatus.COMPLETED
    message: str = ""


# What `run()` is: yields at checkpoints, returns the result.
Steps = Generator[None, None, SyncResult]


@dataclass
class Run(Generic[C]):
    """One slice of one run, as a sync type sees it."""

    account: EmailAccount
    run_id: str
    cursor: C
    counts: Counts
    services: Runtime  # in a dry run, a view whose writes are recorded, not sent
    dry_run: bool
    deadline: float  # time.monotonic() after which the runner pauses at the next yield
    add_detail: Callable[[AuditDetail], None]
    details: list[AuditDetail] = field(default_factory=list)
    # What start() read that run() can reuse in the same slice (never saved: a continuation
    # starts without it).
    memo: dict[str, Any] = field(default_factory=dict)
    # What started the run (`Trigger` value: "Scheduled", "Webhook", ...): a Webhook run may
    # narrow its plan to the event targets pending for it.
    trigger: str = ""

    # Set by `save_only()`, cleared by the runner at the next checkpoint.
    no_pause: bool = False

    def out_of_time(self) -> bool:
        """For types that batch work across yields: whether the next yield will pause."""
        return time.monotonic() >= self.deadline

    def save_only(self) -> None:
        """The next checkpoint saves but does not pause: it is inside a unit of work whose
        next stage is cheaper to finish now than to redo after a pause. (Waits stay bounded
        by the deadline: see shared.deadline.)"""
        self.no_pause = True

    def detail(self, detail: AuditDetail) -> None:
        """One audit detail row (a list, a form, a campaign) under the run's audit row."""
        self.details.append(detail)
        self.add_detail(detail)

    def platform(self, kind: type[P]) -> P:
        """The account's platform client, checked against what the type expects."""
        client = self.services.platform_client(self.account)
        if not isinstance(client, kind):
            raise ConfigurationError(
                f"Email account '{self.account.name}' is a {self.account.platform.value} "
                f"account; this sync type needs {kind.__name__}."
            )
        return client

    def watermark(self, key: str) -> WatermarkWindow:
        """A new window for `key` (captured now, before reading); keep it in the cursor."""
        return Watermarks(self.services.state, self.account.account_id).open(
            key, self.services.clock()
        )

    def child(self, cursor: K, counts: Counts, add_detail: Callable[[AuditDetail], None]) -> Run[K]:
        """A run of another type inside this one (the two-way sync's phases)."""
        return Run(
            account=self.account,
            run_id=self.run_id,
            cursor=cursor,
            counts=counts,
            services=self.services,
            dry_run=self.dry_run,
            deadline=self.deadline,
            add_detail=add_detail,
            memo=self.memo,  # one slice: the phases share what they read
            trigger=self.trigger,
        )


class SyncTypeTemplate(ABC, Generic[C]):
    declaration: ClassVar[SyncDeclaration]
    cursor_model: ClassVar[type[Cursor]]

    @abstractmethod
    def start(self, run: Run[C]) -> C:
        """The first cursor: the run's plan and fixed inputs (`run.cursor` is not set yet)."""

    @abstractmethod
    def run(self, run: Run[C]) -> Steps | SyncResult:
        """The work from `run.cursor` on: yield after each written unit, return the result.
        A type whose run is one short unit may simply return its result."""

    def watermarks(self, cursor: C) -> list[WatermarkWindow]:
        """The windows the runner commits when the run completes (none by default)."""
        return []
