"""The opt-in writer against the Dataverse sandbox: values only rise, every write is conditional
on the value it read, and two accounts writing the same records at once end on the higher."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.dataverse.app import BATCH_TEMPLATE
from sandbox.dataverse.state import DataverseState
from shared.clients import DataverseClient
from shared.clients.dataverse.batch import BatchOutcome, BatchRequest
from shared.sync.opt_in_writer import COLUMN, OptInWriter, rank_of
from tests.fixtures.sandboxes import DataverseClientFactory

UNKNOWN, SINGLE, DOUBLE, VERIFIED = 1, 2, 3, 4


def _record(dv: DataverseState, table: str, email: str, value: int | None = None) -> str:
    values: dict[str, Any] = {"emailaddress1": email, COLUMN: value}
    values["name" if table == "account" else "lastname"] = email.split("@")[0]
    return dv.insert(table, values)


def _value(dv: DataverseState, table: str, record_id: str) -> Any:
    row = dv.row(table, record_id)
    assert row is not None
    return row[COLUMN]


def test_platform_names_of_opt_in_types_map_to_the_column() -> None:
    assert [rank_of(n) for n in ("Unknown", "single", "Double", "verifiedDouble")] == [1, 2, 3, 4]
    assert rank_of("NotAvailableInThisVersion") is None and rank_of(None) is None


def test_every_record_with_the_email_rises_and_none_is_lowered_or_rewritten(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    contact = _record(dv, "contact", "Ada@Example.com")
    lead = _record(dv, "lead", "ada@example.com", SINGLE)
    account = _record(dv, "account", "ADA@example.com", VERIFIED)
    same = _record(dv, "contact", "ben@example.com", DOUBLE)
    etag_before = dv.row("contact", same)
    other = _record(dv, "contact", "cy@example.com", SINGLE)

    outcome = OptInWriter(dataverse_client).apply(
        {"ada@example.com": DOUBLE, "ben@example.com": DOUBLE, "cy@example.com": UNKNOWN}
    )

    assert _value(dv, "contact", contact) == DOUBLE
    assert _value(dv, "lead", lead) == DOUBLE
    assert _value(dv, "account", account) == VERIFIED  # never lowered
    assert _value(dv, "contact", other) == SINGLE
    assert dv.row("contact", same) == etag_before  # unchanged: not written at all
    assert outcome.updated == {"contact": 1, "lead": 1} and outcome.unchanged == 3
    assert outcome.failed == {}


def test_a_record_raised_between_read_and_write_keeps_the_higher_value(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    record = _record(dv, "contact", "dee@example.com", UNKNOWN)
    writer = OptInWriter(dataverse_client)
    real = dataverse_client.execute_batch

    def raise_in_between(requests: Any, **options: Any) -> BatchOutcome:
        if any(r.method == "PATCH" for r in requests) and _value(dv, "contact", record) == 1:
            dv.update("contact", record, {COLUMN: VERIFIED})  # another account's run
        return real(requests, **options)

    writer.dataverse = _with_batch(dataverse_client, raise_in_between)
    outcome = writer.apply({"dee@example.com": DOUBLE})

    assert _value(dv, "contact", record) == VERIFIED
    assert outcome.updated == {} and outcome.unchanged == 1 and outcome.failed == {}


def test_a_record_changed_but_still_lower_is_decided_again_and_raised(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    record = _record(dv, "contact", "eve@example.com", UNKNOWN)
    real = dataverse_client.execute_batch
    sent: list[str] = []

    def change_in_between(requests: Any, **options: Any) -> BatchOutcome:
        patches = [r for r in requests if r.method == "PATCH"]
        if patches:
            sent.append(patches[0].headers["If-Match"])
            if len(sent) == 1:
                dv.update("contact", record, {COLUMN: SINGLE})
        return real(requests, **options)

    writer = OptInWriter(_with_batch(dataverse_client, change_in_between))
    outcome = writer.apply({"eve@example.com": DOUBLE})

    assert _value(dv, "contact", record) == DOUBLE
    assert outcome.updated == {"contact": 1}
    assert len(sent) == 2 and sent[0] != sent[1]  # the second write carried the fresh ETag


def test_a_write_batch_whose_answer_was_lost_counts_its_own_writes_once(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    records = [_record(dv, "contact", f"f{n}@example.com", SINGLE) for n in range(3)]
    dv.faults.slow_next(0.0, count=1)  # the lookup passes
    dv.faults.lose_response_next()  # the writes are applied, their answer lost: resent

    outcome = OptInWriter(dataverse_client).apply({f"f{n}@example.com": VERIFIED for n in range(3)})

    assert [_value(dv, "contact", r) for r in records] == [VERIFIED] * 3
    assert outcome.updated == {"contact": 3} and outcome.failed == {}
    assert dv.faults.injected["lose"] == 1


def test_a_record_that_keeps_changing_fails_with_its_key_and_can_be_retried(
    dv: DataverseState, dataverse_client: DataverseClient
) -> None:
    record = _record(dv, "lead", "gus@example.com", UNKNOWN)
    real = dataverse_client.execute_batch

    def touch_every_time(requests: Any, **options: Any) -> BatchOutcome:
        if any(r.method == "PATCH" for r in requests):
            dv.update("lead", record, {"firstname": "Touched"})  # an edit that keeps it lower
        return real(requests, **options)

    writer = OptInWriter(_with_batch(dataverse_client, touch_every_time), max_attempts=2)
    outcome = writer.apply({"gus@example.com": DOUBLE})

    assert _value(dv, "lead", record) == UNKNOWN
    assert list(outcome.failed) == [f"lead {record}"]
    assert outcome.retry == {"gus@example.com"}


def _with_batch(client: DataverseClient, execute: Callable[..., BatchOutcome]) -> DataverseClient:
    wrapped = _Wrapped(client)
    wrapped.execute_batch = execute  # type: ignore[method-assign]
    return wrapped  # type: ignore[return-value]


class _Wrapped:
    def __init__(self, inner: DataverseClient) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_accounts_writing_the_same_records_at_once_end_on_the_higher_type(
    dv: DataverseState, make_dataverse_client: DataverseClientFactory, seed: int
) -> None:
    """Two threads, one per account, each with its own client, on the same 60 records: the
    value each record ends with is the highest of its start and the two accounts' types,
    whatever the interleaving (forced: both read before either writes; and free)."""
    rng = random.Random(seed)
    emails = [f"shared{n:02d}@example.com" for n in range(60)]
    start = {email: rng.choice([None, UNKNOWN, SINGLE, DOUBLE, VERIFIED]) for email in emails}
    records = {email: _record(dv, rng.choice(["contact", "lead", "account"]), email, start[email])
               for email in emails}  # fmt: skip
    tables = {rid: t for t in ("contact", "lead", "account") for rid in dv.table(t).rows}
    first = {email: rng.randint(UNKNOWN, VERIFIED) for email in emails}
    second = {email: rng.randint(UNKNOWN, VERIFIED) for email in emails}
    forced = seed != 3  # seed 3 runs free; the others read both before either writes
    both_read = threading.Barrier(2)
    errors: list[BaseException] = []

    def account_run(values: dict[str, int], delay_writes: float) -> None:
        client = make_dataverse_client(max_concurrency=2)
        real = client.execute_batch

        def execute(requests: list[BatchRequest], **options: Any) -> BatchOutcome:
            if forced and requests and requests[0].method == "PATCH" and not both_read.broken:
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_read.wait(timeout=10)
                threading.Event().wait(delay_writes)
            return real(requests, **options)

        try:
            OptInWriter(_with_batch(client, execute)).apply(values)
        except BaseException as error:  # reported in the main thread
            errors.append(error)
        finally:
            if forced:
                both_read.abort()  # a run with nothing (more) to write must not hold the other

    threads = [
        threading.Thread(target=account_run, args=(first, 0.0)),
        threading.Thread(target=account_run, args=(second, 0.05)),
    ]
    batches_before = dv.counters.count("POST", BATCH_TEMPLATE)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    for email, record in records.items():
        expected = max(v for v in (start[email], first[email], second[email]) if v is not None)
        assert _value(dv, tables[record], record) == expected, email
    assert dv.counters.count("POST", BATCH_TEMPLATE) > batches_before
