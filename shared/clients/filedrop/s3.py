"""Upload an export to an S3 drop as one object, by multipart upload, part by part.

The manifest keeps the upload id and each uploaded part's ETag. A resumed transfer asks S3
which parts the upload holds (`ListParts`) and sends only those missing or different (a part's
ETag is its MD5, which the manifest has); S3 assembles the object only at
`CompleteMultipartUpload`, so the import never sees half a file. An upload S3 no longer knows
(aborted, or expired by the bucket's lifecycle rule) starts again; one completed before a kill
is recognised by the object's multipart ETag. boto3 is the client (AWS's own; its standard
retry mode retries throttling and 5xx per call).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from pydantic import SecretStr

from shared.clients.filedrop.errors import DropRefused, DropUnreachable
from shared.clients.filedrop.manifest import (
    Manifest,
    ManifestFile,
    Part,
    UploadProgress,
    UploadReport,
)
from shared.clients.filedrop.writer import read_part
from shared.errors import AuthenticationError

OnPart = Callable[[Part], None]
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
MAX_PARTS = 10_000

_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken"}


@dataclass(frozen=True)
class S3Drop:
    bucket: str
    prefix: str = "d365_loads/"
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    endpoint_url: str | None = None  # None: AWS; set for an S3-compatible server
    connect_timeout: float = 20.0
    max_attempts: int = 5  # per call, by botocore's standard retry mode

    def key(self, remote_name: str) -> str:
        return f"{self.prefix}{remote_name}"

    def target(self, remote_name: str) -> str:
        return f"s3://{self.bucket}/{self.key(remote_name)}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=(
                self.secret_access_key.get_secret_value() if self.secret_access_key else None
            ),
            config=Config(
                connect_timeout=self.connect_timeout,
                retries={"mode": "standard", "max_attempts": self.max_attempts},
            ),
        )


def multipart_etag(manifest: Manifest) -> str:
    """The ETag S3 gives an object assembled from these parts: MD5 of the parts' MD5s."""
    digests = b"".join(bytes.fromhex(part.md5) for part in manifest.parts)
    return f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(manifest.parts)}"'


def upload(
    drop: S3Drop, folder: Path, *, client: Any = None, on_part: OnPart | None = None
) -> UploadReport:
    """Upload the export in `folder` (its manifest complete) as one object under the drop's
    prefix, resuming the multipart upload the manifest names; return what was sent."""
    store = ManifestFile(folder)
    manifest = store.load()
    if manifest is None:
        raise DropRefused(f"no export in {folder} (it has no manifest.json)")
    manifest.require_complete()
    _check_sizes(manifest)
    s3 = client if client is not None else drop.client()
    key = drop.key(manifest.remote_name)
    progress = manifest.progress(drop.target(manifest.remote_name))
    report = UploadReport(remote_path=drop.target(manifest.remote_name))
    if progress.finished:
        report.skipped = [part.number for part in manifest.parts]
        return report
    try:
        there = _parts_there(s3, drop, key, progress) if progress.upload_id else None
        if there is None:
            if _object_is(s3, drop.bucket, key, multipart_etag(manifest)):
                # Completed before a kill lost the manifest's record of it.
                report.skipped = [part.number for part in manifest.parts]
                progress.finished = True
                store.save(manifest)
                return report
            created = s3.create_multipart_upload(Bucket=drop.bucket, Key=key)
            progress.upload_id, progress.done, progress.etags, there = (
                cast(str, created["UploadId"]),
                [],
                {},
                {},
            )
            store.save(manifest)
        for part in manifest.parts:
            etag = f'"{part.md5}"'
            if there.get(part.number) == etag:
                report.skipped.append(part.number)
            else:
                body = b"".join(read_part(folder, part))  # at most one part in memory
                answer = s3.upload_part(
                    Bucket=drop.bucket,
                    Key=key,
                    UploadId=progress.upload_id,
                    PartNumber=part.number,
                    Body=body,
                )
                if answer["ETag"] != etag:
                    raise DropRefused(
                        f"S3 stored part {part.number} of {key} with ETag {answer['ETag']}, "
                        f"expected {etag} (a KMS-encrypted bucket cannot be checked this way)"
                    )
                report.sent.append(part.number)
            progress.etags[part.number] = etag
            progress.done = sorted({*progress.done, part.number})
            store.save(manifest)
            if on_part is not None and part.number in report.sent:
                on_part(part)
        s3.complete_multipart_upload(
            Bucket=drop.bucket,
            Key=key,
            UploadId=progress.upload_id,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": part.number, "ETag": progress.etags[part.number]}
                    for part in manifest.parts
                ]
            },
        )
    except ClientError as error:
        raise _client_error(error, drop, key) from None
    except EndpointConnectionError as error:
        raise DropUnreachable(f"S3 endpoint unreachable for s3://{drop.bucket}: {error}") from None
    except BotoCoreError as error:
        raise DropUnreachable(f"S3 call for s3://{drop.bucket}/{key} failed: {error}") from None
    progress.finished = True
    store.save(manifest)
    return report


def _check_sizes(manifest: Manifest) -> None:
    if len(manifest.parts) > MAX_PARTS:
        raise DropRefused(
            f"{manifest.remote_name} has {len(manifest.parts)} parts; S3 takes at most "
            f"{MAX_PARTS}: export again with a larger part size"
        )
    small = [p.number for p in manifest.parts[:-1] if p.size < MIN_PART_SIZE]
    if small:
        raise DropRefused(
            f"parts {small} of {manifest.remote_name} are under S3's 5 MiB minimum: export "
            "again with a part size of at least 5 MiB"
        )


def _parts_there(
    s3: Any, drop: S3Drop, key: str, progress: UploadProgress
) -> dict[int, str] | None:
    """The parts the upload holds (number -> ETag), or None when S3 no longer knows it."""
    found: dict[int, str] = {}
    marker = 0
    while True:
        try:
            page = s3.list_parts(
                Bucket=drop.bucket, Key=key, UploadId=progress.upload_id, PartNumberMarker=marker
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return None
            raise
        for item in page.get("Parts", []):
            found[int(item["PartNumber"])] = str(item["ETag"])
        if not page.get("IsTruncated"):
            return found
        marker = int(page["NextPartNumberMarker"])


def _object_is(s3: Any, bucket: str, key: str, etag: str) -> bool:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return bool(head.get("ETag") == etag)


def _client_error(error: ClientError, drop: S3Drop, key: str) -> Exception:
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))
    where = f"s3://{drop.bucket}/{key}"
    if code in _AUTH_CODES:
        return AuthenticationError(f"S3 refused the credentials for {where}: {code} {message}")
    if code in {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}:
        return DropUnreachable(f"S3 kept failing for {where}: {code} {message}")
    return DropRefused(f"S3 refused the upload of {where}: {code} {message}")


# Part by part, for a caller that keeps the upload id and ETags itself (the file load keeps
# them in Table Storage): each call is one S3 request, its errors mapped as above.


def begin_upload(drop: S3Drop, remote_name: str, *, client: Any = None) -> str:
    """A new multipart upload of the object; its upload id."""
    s3, key = client if client is not None else drop.client(), drop.key(remote_name)
    with _errors(drop, key):
        created = s3.create_multipart_upload(Bucket=drop.bucket, Key=key)
    return cast(str, created["UploadId"])


def upload_known(drop: S3Drop, remote_name: str, upload_id: str, *, client: Any = None) -> bool:
    """Does S3 still hold this upload (not aborted, not expired by a lifecycle rule)?"""
    s3, key = client if client is not None else drop.client(), drop.key(remote_name)
    with _errors(drop, key):
        return _parts_there(s3, drop, key, UploadProgress(upload_id=upload_id)) is not None


def put_part(
    drop: S3Drop, remote_name: str, upload_id: str, number: int, data: bytes, *, client: Any = None
) -> str:
    """Upload (or upload again) part `number`; its ETag, checked against the data's MD5."""
    s3, key = client if client is not None else drop.client(), drop.key(remote_name)
    etag = f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
    with _errors(drop, key):
        answer = s3.upload_part(
            Bucket=drop.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
    if answer["ETag"] != etag:
        raise DropRefused(
            f"S3 stored part {number} of {key} with ETag {answer['ETag']}, expected {etag} "
            "(a KMS-encrypted bucket cannot be checked this way)"
        )
    return etag


def complete_upload(
    drop: S3Drop, remote_name: str, upload_id: str, md5s: list[str], *, client: Any = None
) -> None:
    """Assemble the object from parts 1..n (`md5s` in order). An upload S3 no longer knows
    whose object is there with the expected multipart ETag was completed before a kill."""
    s3, key = client if client is not None else drop.client(), drop.key(remote_name)
    parts = [{"PartNumber": n, "ETag": f'"{md5}"'} for n, md5 in enumerate(md5s, start=1)]
    digests = b"".join(bytes.fromhex(md5) for md5 in md5s)
    whole = f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(md5s)}"'
    with _errors(drop, key):
        try:
            s3.complete_multipart_upload(
                Bucket=drop.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code != "NoSuchUpload" or not _object_is(s3, drop.bucket, key, whole):
                raise


@contextmanager
def _errors(drop: S3Drop, key: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        raise _client_error(error, drop, key) from None
    except EndpointConnectionError as error:
        raise DropUnreachable(f"S3 endpoint unreachable for s3://{drop.bucket}: {error}") from None
    except BotoCoreError as error:
        raise DropUnreachable(f"S3 call for s3://{drop.bucket}/{key} failed: {error}") from None
