"""S3 multipart uploads against moto's server mode over HTTP: whole, killed and resumed,
completed before a kill, aborted, refused, unreachable."""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from shared.clients.filedrop import (
    DropRefused,
    DropUnreachable,
    ImportFormat,
    UploadProgress,
    export,
)
from shared.clients.filedrop.manifest import ManifestFile
from shared.clients.filedrop.s3 import S3Drop, multipart_etag, upload
from tests.clients.filedrop.staging import (
    Killed,
    edit_progress,
    kill_after,
    local_file,
    manifest_of,
    parts_of,
)
from tests.fixtures.filedrop import S3Server

PART_SIZE = 5 * 1024 * 1024  # S3's minimum, which moto enforces as S3 does


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 16 MiB in four parts; random hex so that it does not compress away."""
    folder = tmp_path_factory.mktemp("s3_export")
    rows = (
        {"contactid": f"id-{n}", "email": f"p{n}@example.com", "note": os.urandom(40).hex()}
        for n in range(150_000)
    )
    export(rows, folder=folder, stem="contacts", columns=["contactid", "email", "note"],
           key="contactid", format=ImportFormat(), part_size=PART_SIZE)  # fmt: skip
    return folder


@pytest.fixture
def staged(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "staged"))


def drop_for(server: S3Server, bucket: str, **overrides: Any) -> S3Drop:
    settings: dict[str, Any] = {
        "bucket": bucket, "endpoint_url": server.endpoint_url, "region": server.region,
        "access_key_id": server.access_key_id,
        "secret_access_key": SecretStr(server.secret_access_key),
    }  # fmt: skip
    settings.update(overrides)
    return S3Drop(**settings)


def counting_client(drop: S3Drop) -> tuple[Any, list[int]]:
    """A client that notes the part number of every UploadPart call that reached S3."""
    client = drop.client()
    sent: list[int] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        sent.append(int(params["PartNumber"]))

    client.meta.events.register("provide-client-params.s3.UploadPart", note)
    return client, sent


def remote(server: S3Server, bucket: str) -> tuple[bytes, str]:
    answer = server.client().get_object(Bucket=bucket, Key="d365_loads/contacts.txt")
    return answer["Body"].read(), answer["ETag"]


def test_an_upload_makes_one_object_of_all_parts(
    s3_server: S3Server, s3_bucket: str, staged: Path
) -> None:
    drop = drop_for(s3_server, s3_bucket)
    client, sent = counting_client(drop)
    report = upload(drop, staged, client=client)

    body, etag = remote(s3_server, s3_bucket)
    assert body == local_file(staged)
    manifest = ManifestFile(staged).load()
    assert manifest is not None and len(manifest.parts) >= 3
    assert etag == multipart_etag(manifest)
    assert report.sent == sent == [p.number for p in manifest.parts]
    # A redelivered run: nothing sent again.
    assert upload(drop, staged, client=client).sent == [] and len(sent) == len(manifest.parts)


def test_a_killed_transfer_resumes_with_the_listed_parts_kept(
    s3_server: S3Server, s3_bucket: str, staged: Path, template: Path, tmp_path: Path
) -> None:
    drop = drop_for(s3_server, s3_bucket)
    parts = parts_of(staged)

    with pytest.raises(Killed):
        upload(drop, staged, on_part=kill_after(2))
    listed = s3_server.client().list_objects_v2(Bucket=s3_bucket)
    assert listed.get("KeyCount", 0) == 0  # nothing visible before the upload completes

    client, sent = counting_client(drop)
    report = upload(drop, staged, client=client)
    assert sent == report.sent == [p.number for p in parts if p.number > 2]
    assert report.skipped == [1, 2]

    unkilled = Path(shutil.copytree(template, tmp_path / "unkilled"))
    upload(drop_for(s3_server, s3_bucket, prefix="unkilled/"), unkilled)
    other = s3_server.client().get_object(Bucket=s3_bucket, Key="unkilled/contacts.txt")
    assert remote(s3_server, s3_bucket) == (other["Body"].read(), other["ETag"])


@pytest.mark.parametrize(
    "recorded",
    [
        pytest.param([1, 2, 3], id="a part recorded that S3 never received"),
        pytest.param([1], id="killed between S3's answer and the manifest's save"),
    ],
)
def test_s3s_list_of_parts_decides_what_is_sent_not_the_manifest(
    s3_server: S3Server, s3_bucket: str, staged: Path, recorded: list[int]
) -> None:
    drop = drop_for(s3_server, s3_bucket)
    with pytest.raises(Killed):
        upload(drop, staged, on_part=kill_after(2))  # S3 holds parts 1 and 2

    def record(progress: UploadProgress) -> None:
        progress.done = recorded
        progress.etags = {n: e for n, e in progress.etags.items() if n in recorded}

    manifest = edit_progress(staged, record)
    client, sent = counting_client(drop)
    report = upload(drop, staged, client=client)
    assert sent == report.sent == [p.number for p in manifest.parts if p.number > 2]
    assert remote(s3_server, s3_bucket)[0] == local_file(staged)


def test_killed_after_completing_it_sends_nothing_again(
    s3_server: S3Server, s3_bucket: str, staged: Path
) -> None:
    drop = drop_for(s3_server, s3_bucket)
    upload(drop, staged)

    def forget_completion(progress: UploadProgress) -> None:
        progress.finished = False  # killed between CompleteMultipartUpload and the save

    manifest = edit_progress(staged, forget_completion)
    client, sent = counting_client(drop)
    report = upload(drop, staged, client=client)
    assert sent == [] and report.skipped == [p.number for p in manifest.parts]


def test_an_aborted_upload_starts_again(s3_server: S3Server, s3_bucket: str, staged: Path) -> None:
    drop = drop_for(s3_server, s3_bucket)

    with pytest.raises(Killed):
        upload(drop, staged, on_part=kill_after(1))
    manifest = manifest_of(staged)
    upload_id = next(iter(manifest.uploads.values())).upload_id
    s3_server.client().abort_multipart_upload(
        Bucket=s3_bucket, Key="d365_loads/contacts.txt", UploadId=upload_id
    )

    client, sent = counting_client(drop)
    upload(drop, staged, client=client)
    assert sent == [p.number for p in manifest.parts]
    assert remote(s3_server, s3_bucket)[0] == local_file(staged)


def test_parts_under_five_mib_are_refused_before_any_call(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    rows = ({"id": str(n), "note": os.urandom(40).hex()} for n in range(5_000))
    export(rows, folder=tmp_path, stem="contacts", columns=["id", "note"], key="id",
           format=ImportFormat(), part_size=64 * 1024)  # fmt: skip
    drop = drop_for(s3_server, s3_bucket)
    client, sent = counting_client(drop)
    with pytest.raises(DropRefused, match="under S3's 5 MiB minimum"):
        upload(drop, tmp_path, client=client)
    assert sent == []


def test_a_missing_bucket_is_refused_by_name(s3_server: S3Server, staged: Path) -> None:
    where = re.escape("s3://no-such-bucket/d365_loads/contacts.txt: NoSuchBucket")
    with pytest.raises(DropRefused, match=where):
        upload(drop_for(s3_server, "no-such-bucket"), staged)


def test_an_unreachable_endpoint_is_retriable(staged: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    drop = S3Drop(bucket="b", endpoint_url=f"http://127.0.0.1:{port}", access_key_id="k",
                  secret_access_key=SecretStr("s"), max_attempts=1, connect_timeout=5)  # fmt: skip
    with pytest.raises(DropUnreachable, match="S3 endpoint unreachable for s3://b"):
        upload(drop, staged)
