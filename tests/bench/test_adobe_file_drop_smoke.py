"""The file drop benchmark still runs and still counts right, at a small size: every contact
arrives as a profile over SFTP and S3, one part, the calls the transfer is made of. No timing
assertions: `python -m bench.adobe_file_drop` reports wall time, CPU and memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.adobe_file_drop import DropResult, render, run_benchmark

CONTACTS = 1_200


@pytest.fixture(scope="module")
def results() -> list[DropResult]:
    found, _ = run_benchmark(CONTACTS, ["sftp", "s3"], memory=False)
    return found


def test_every_contact_arrives_through_each_drop(results: list[DropResult]) -> None:
    assert [(r.drop, r.rows, r.parts, r.arrived) for r in results] == [
        ("sftp", CONTACTS, 1, True),
        ("s3", CONTACTS, 1, True),
    ]


def test_the_calls_are_the_read_the_parts_and_one_signal(results: list[DropResult]) -> None:
    sftp, s3 = results
    for result in results:
        signals = [n for call, n in result.http_calls.items() if call.endswith("/trigger")]
        assert signals == [1]
    assert sftp.sftp_sessions == 2  # the part, then the rename
    assert s3.s3_calls == {
        "CreateMultipartUpload": 1, "UploadPart": 1, "CompleteMultipartUpload": 1,
    }  # fmt: skip
    meta = {"command": "python -m bench.adobe_file_drop", "started": datetime.now(UTC),
            "load": "0.0", "contacts": CONTACTS, "seed_seconds": 0.0}  # fmt: skip
    assert "| sftp | 1,200 | 1 |" in render(results, meta)
