"""`$batch` for the sandbox (PAD `webapi/execute-batch-operations-using-web-api.md`).

- Request: `multipart/mixed; boundary=batch_...`; parts `application/http` (one request) or
  `multipart/mixed; boundary=changeset_...` (a change set: all-or-nothing, no GET, parts with
  `Content-ID` that later parts reference as `$n` in their URL or in `@odata.bind` values).
- Response: `--batchresponse_<guid>` parts in request order; a successful change set nests
  `--changesetresponse_<guid>` parts echoing each `Content-ID`; a failed change set is rolled
  back and answered by its single error.
- Without `Prefer: odata.continue-on-error` the batch stops at the first failure and the whole
  answer is `400 BadRequest` (parts up to and including the failure); with it, `200 OK` and
  every part.
- At most 1000 requests (the sandbox answers 400 beyond, its own message).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.dataverse.odata import ODataError, bad_request, preferences
from sandbox.dataverse.store import Transaction
from sandbox.dataverse.webapi import ApiRequest, ApiResponse, error_response

MAX_REQUESTS = 1000
_REFERENCE = re.compile(r"^\$(\d+)(?=$|/)")


@dataclass(frozen=True)
class MimePart:
    headers: dict[str, str]
    payload: bytes


def boundary_of(content_type: str) -> str | None:
    for piece in content_type.split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    return None


def _split_head(block: bytes) -> tuple[list[str], bytes]:
    if block.startswith(b"\r\n"):
        return [], block[2:]
    if block.startswith(b"\n"):
        return [], block[1:]
    found = [(at, n) for at, n in ((block.find(b"\r\n\r\n"), 4), (block.find(b"\n\n"), 2))]
    found = [(at, n) for at, n in found if at != -1]
    if not found:
        return block.decode("utf-8", "replace").splitlines(), b""
    at, size = min(found)
    return block[:at].decode("utf-8", "replace").splitlines(), block[at + size :]


def _headers(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        name, found, value = line.partition(":")
        if found:
            out[name.strip().lower()] = value.strip()
    return out


def parse_multipart(body: bytes, boundary: str) -> list[MimePart]:
    delimiter = b"--" + boundary.encode()
    parts: list[MimePart] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.removeprefix(b"\n")
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        elif chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        head, payload = _split_head(chunk)
        parts.append(MimePart(_headers(head), payload))
    return parts


@dataclass
class PartRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def parse_http_request(payload: bytes) -> PartRequest:
    head, body = _split_head(payload)
    if not head:
        raise bad_request("A batch part holds no HTTP request.")
    words = head[0].split(" ")
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise bad_request(f"The batch part request line '{head[0]}' is not valid.")
    return PartRequest(words[0].upper(), words[1], _headers(head[1:]), body.strip())


def _status_line(response: ApiResponse) -> str:
    return f"HTTP/1.1 {response.status} {response.reason}".rstrip()


def encode_part(response: ApiResponse, content_id: str | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines.append("")
    lines.append(_status_line(response))
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    lines.append("")
    return "\r\n".join(lines) + "\r\n" + response.body.decode("utf-8")


def encode_multipart(boundary: str, parts: list[str]) -> str:
    return "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--"


class BatchRunner:
    def __init__(
        self,
        handle: Callable[[ApiRequest], ApiResponse],
        new_id: Callable[[], str],
    ) -> None:
        self.handle = handle
        self.new_id = new_id

    def _api_request(
        self,
        outer: ApiRequest,
        part: PartRequest,
        references: dict[str, str],
        transaction: Transaction | None,
    ) -> ApiRequest:
        target = part.target
        match = _REFERENCE.match(target)
        if match is not None:
            reference = "$" + match.group(1)
            if reference not in references:
                raise bad_request(
                    f"Content-ID Reference: '{reference}' does not exist in the batch context."
                )
            target = references[reference] + target[match.end() :]
        parts = urlsplit(target)
        path = parts.path
        marker = "/api/data/"
        if marker in path:
            rest = path.split(marker, 1)[1]
            path = rest.split("/", 1)[1] if "/" in rest else ""
        body = self._resolve_body(part.body, references)
        return ApiRequest(
            method=part.method,
            path=path.lstrip("/"),
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers=part.headers,
            body=body,
            base_url=outer.base_url,
            transaction=transaction,
        )

    @staticmethod
    def _resolve_body(body: bytes, references: dict[str, str]) -> bytes:
        if not body or b"$" not in body:
            return body
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if not isinstance(data, dict):
            return body

        def resolve(value: Any) -> Any:
            if isinstance(value, str):
                match = _REFERENCE.match(value)
                if match is not None:
                    reference = "$" + match.group(1)
                    if reference not in references:
                        raise bad_request(
                            f"Content-ID Reference: '{reference}' does not exist in the batch "
                            "context."
                        )
                    return references[reference] + value[match.end() :]
            return value

        resolved = {
            key: resolve(value) if key.endswith("@odata.bind") or key == "@odata.id" else value
            for key, value in data.items()
        }
        return json.dumps(resolved).encode("utf-8")

    def _run_one(
        self,
        outer: ApiRequest,
        payload: bytes,
        references: dict[str, str],
        transaction: Transaction | None,
        *,
        in_change_set: bool,
    ) -> ApiResponse:
        try:
            part = parse_http_request(payload)
            if in_change_set and part.method == "GET":
                raise bad_request("GET requests are not allowed inside a change set.")
            request = self._api_request(outer, part, references, transaction)
        except ODataError as error:
            return error_response(error, self.new_id())
        return self.handle(request)

    def run(self, outer: ApiRequest, after_unit: Callable[[], object] | None = None) -> ApiResponse:
        """`after_unit` runs after each top-level part and each change set (committed or
        rolled back)."""
        content_type = outer.headers.get("content-type", "")
        boundary = boundary_of(content_type)
        if not content_type.lower().startswith("multipart/mixed") or boundary is None:
            return error_response(
                bad_request("A $batch request needs Content-Type multipart/mixed with a boundary."),
                self.new_id(),
            )
        parts = parse_multipart(outer.body, boundary)
        total = 0
        for part in parts:
            inner = boundary_of(part.headers.get("content-type", ""))
            total += len(parse_multipart(part.payload, inner)) if inner else 1
        if total > MAX_REQUESTS:
            return error_response(
                bad_request(
                    f"The batch holds {total} requests; the limit is {MAX_REQUESTS} per batch.",
                    "0x8005f103",
                ),
                self.new_id(),
            )
        continue_on_error = "odata.continue-on-error" in preferences(outer.headers.get("prefer"))
        encoded: list[str] = []
        failed = False
        for part in parts:
            inner = boundary_of(part.headers.get("content-type", ""))
            if inner is None:
                response = self._run_one(outer, part.payload, {}, None, in_change_set=False)
                encoded.append(encode_part(response))
                ok = response.status < 400
            else:
                text, ok = self._run_change_set(outer, part, inner)
                encoded.append(text)
            if after_unit is not None:
                after_unit()
            if not ok:
                failed = True
                if not continue_on_error:
                    break
        answer = f"batchresponse_{self.new_id()}"
        headers = [
            ("OData-Version", "4.0"),
            ("Content-Type", f"multipart/mixed; boundary={answer}"),
        ]
        if continue_on_error:
            headers.append(("Preference-Applied", "odata.continue-on-error"))
        status = 400 if failed and not continue_on_error else 200
        return ApiResponse(status, headers, (encode_multipart(answer, encoded) + "\r\n").encode())

    def _run_change_set(self, outer: ApiRequest, part: MimePart, boundary: str) -> tuple[str, bool]:
        transaction = Transaction()
        references: dict[str, str] = {}
        answers: list[tuple[str | None, ApiResponse]] = []
        for inner in parse_multipart(part.payload, boundary):
            content_id = inner.headers.get("content-id")
            response = self._run_one(
                outer, inner.payload, references, transaction, in_change_set=True
            )
            if response.status >= 400:
                transaction.rollback()
                return encode_part(response), False
            entity = response.header("OData-EntityId") or response.header("Location")
            if content_id is not None and entity:
                references["$" + content_id] = entity
            answers.append((content_id, response))
        name = f"changesetresponse_{self.new_id()}"
        inner_parts = [encode_part(response, content_id) for content_id, response in answers]
        text = f"Content-Type: multipart/mixed; boundary={name}\r\n\r\n" + encode_multipart(
            name, inner_parts
        )
        return text, True
