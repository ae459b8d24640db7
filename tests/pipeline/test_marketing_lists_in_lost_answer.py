"""MarketingListsDataIn when the answer to its conditional `$batch` of writes is lost.

Dataverse applies the batch, the connection drops before the answer, the client sends the batch
again, and every PATCH now meets 412: its ETag is the one from before our own write. Records
that already hold what we meant to write are counted written; a record someone else changed in
between stays a conflict, read again next run.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from sandbox.clock import ManualClock as SandboxClock
from shared.accounts import EmailAccount
from shared.audit import AuditStatus, Messages
from shared.localhost.run import build_host
from shared.runtime import Runtime, install_runtime
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DataverseSandbox, DotdigitalSandbox
from tests.pipeline.test_marketing_lists_in_e2e import HookedRuntime, World, build_world


@pytest.fixture
def world(
    sync_runtime: Runtime, acme: EmailAccount, dataverse_sandbox: DataverseSandbox,
    dotdigital_sandbox: DotdigitalSandbox, sandbox_clock: SandboxClock, clock: ManualClock,
) -> World:  # fmt: skip
    return build_world(sync_runtime, dataverse_sandbox, dotdigital_sandbox, sandbox_clock, clock)


class WriteBatches:
    """Sees each `$batch` of PATCHes as it goes out: loses the first one's answer (the batch is
    applied, then the connection drops), and runs `on_resend` before the second is sent."""

    def __init__(self, world: World, on_resend: object = None) -> None:
        self.world = world
        self.sent = 0
        self.on_resend = on_resend

    def __call__(self, request: httpx.Request) -> None:
        if not request.url.path.endswith("$batch") or b"PATCH " not in request.content:
            return
        self.sent += 1
        if self.sent == 1:
            self.world.dataverse.state.faults.lose_response_next()
        elif self.sent == 2 and callable(self.on_resend):
            self.on_resend()


def hooked(world: World, request: pytest.FixtureRequest, batches: WriteBatches) -> None:
    rt = HookedRuntime(world.rt, batches)
    request.addfinalizer(rt.close)
    install_runtime(rt)
    world.rt = rt


def test_writes_applied_before_a_lost_answer_are_counted_written(
    world: World, request: pytest.FixtureRequest
) -> None:
    batches = WriteBatches(world)
    hooked(world, request, batches)
    host = build_host(world.rt, visibility=timedelta(seconds=2), max_deliveries=3)
    world.change_platform("ada@example.com", LASTNAME="King")
    world.change_platform("linus@example.com", LASTNAME="Pauling-Jones")
    world.change_platform("grace@example.com", LASTNAME="Murray Hopper")

    audit = world.run(host)

    assert batches.sent >= 3  # the contacts' batch was sent twice, the leads' once
    assert audit.status is AuditStatus.COMPLETED, audit.message
    assert (audit.counts.updated, audit.counts.failed) == (3, 0)
    assert audit.message == "3 records updated in Dynamics"
    assert world.crm("ada@example.com")["lastname"] == "King"
    assert world.crm("grace@example.com")["lastname"] == "Murray Hopper"
    assert world.snapshot("contact", "ada@example.com").synced_values["LASTNAME"] == "King"
    details = {d.item: d for d in world.rt.audit.details("acme", audit.row_key)}
    assert details["Newsletter contacts"].counts.updated == 2
    assert details["Newsletter contacts"].status is AuditStatus.COMPLETED

    again = world.run(host)  # nothing left to do, and it says so

    assert again.message == Messages.NO_NEW_OBJECTS
    assert (again.counts.updated, again.counts.failed) == (0, 0)


def test_a_record_changed_by_someone_else_before_the_resend_stays_a_conflict(
    world: World, request: pytest.FixtureRequest
) -> None:
    ada = world.ids["ada@example.com"]
    batches = WriteBatches(world, lambda: world.change_crm("ada@example.com", lastname="Byron"))
    hooked(world, request, batches)
    host = build_host(world.rt, visibility=timedelta(seconds=2), max_deliveries=3)
    world.sandbox_clock.advance(90)  # past the seeded contacts' time and the clock-skew margin
    world.change_platform("ada@example.com", LASTNAME="King")
    world.change_platform("grace@example.com", LASTNAME="Murray Hopper")

    first = world.run(host)

    assert first.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert (first.counts.updated, first.counts.failed) == (1, 1)  # Grace written, Ada not
    assert f"contact {ada}" in first.message
    assert "doesn't match" in first.message
    assert world.crm("ada@example.com")["lastname"] == "Byron"
    assert world.snapshot("contact", "ada@example.com").synced_values["LASTNAME"] == "Lovelace"
    assert world.snapshot("contact", "grace@example.com").synced_values["LASTNAME"] == (
        "Murray Hopper"
    )

    # The watermark stayed at Ada's change: she is read again, and Byron (Dynamics' change,
    # the more recent one) is left for DataOut.
    second = world.run(host)

    assert second.status is AuditStatus.COMPLETED, second.message
    assert second.counts.failed == 0
    assert second.counts.read >= 1
