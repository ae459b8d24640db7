"""`$batch` (PAD `webapi/execute-batch-operations-using-web-api.md`).

A batch is `multipart/mixed; boundary=batch_<id>`: one `application/http` part per request, or
a change set (`multipart/mixed; boundary=changeset_<id>`, all-or-nothing, no GET inside) whose
parts carry `Content-ID: n` so later parts can refer to a created record as `$n`. At most 1000
requests go in one batch: larger inputs are split (a change set is never split).

With `Prefer: odata.continue-on-error` the service answers 200 and one part per request (or
per failed change set); without it, it stops at the first failure and answers
`400 BadRequest`, the failure in the body. Responses come back in request order, boundaries
`batchresponse_<guid>` / `changesetresponse_<guid>`, change-set parts echoing `Content-ID`.
Every request gets a `BatchResult` (status, headers, JSON body or error); requests the service
never reached have `status=None`. A `$batch` whose answer was lost is sent again (when all its
requests are safe to resend): its results say how often it went out (`sends`), since a second
send can meet the first one's effects (a conditional write's 412 on its own earlier write).

One module of about 500 lines on purpose: the multipart format is written and read only here,
and its encoder, decoder and request-to-result mapping change together (a split would put one
format's two halves, and their shared models, in three files).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from shared.clients.dataverse.odata import (
    Key,
    check_name,
    entity_id_from_url,
    entity_path,
)
from shared.clients.dataverse.transport import (
    API_PATH,
    DataverseTransport,
    error_details,
    parse_json,
)
from shared.errors import ApiError

MAX_BATCH_REQUESTS = 1000
CONTINUE_ON_ERROR = "odata.continue-on-error"
_IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a batch. `url` is relative to the API root (`contacts(<id>)`), or
    starts with `$n` to refer to a record created earlier in the same change set."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None
    safe_to_resend: bool | None = None  # None: GET/PUT/PATCH/DELETE yes, POST no

    @property
    def idempotent(self) -> bool:
        if self.safe_to_resend is not None:
            return self.safe_to_resend
        return self.method.upper() in _IDEMPOTENT_METHODS

    @classmethod
    def create(
        cls, entity_set: str, data: Mapping[str, Any], *, content_id: str | None = None
    ) -> BatchRequest:
        return cls("POST", check_name(entity_set, "entity set"), data, content_id=content_id)

    @classmethod
    def update(
        cls,
        entity_set: str,
        key: Key,
        data: Mapping[str, Any],
        *,
        if_match: str = "*",
        content_id: str | None = None,
    ) -> BatchRequest:
        """PATCH that never creates: `If-Match: *`, or an ETag that must still match."""
        return cls(
            "PATCH",
            entity_path(entity_set, key),
            data,
            headers={"If-Match": if_match},
            content_id=content_id,
        )

    @classmethod
    def upsert(
        cls, entity_set: str, key: Key, data: Mapping[str, Any], *, content_id: str | None = None
    ) -> BatchRequest:
        """PATCH by id or alternate key: updates the row, or creates it if missing."""
        return cls("PATCH", entity_path(entity_set, key), data, content_id=content_id)

    @classmethod
    def delete(cls, entity_set: str, key: Key, *, if_match: str | None = None) -> BatchRequest:
        headers = {"If-Match": if_match} if if_match else {}
        return cls("DELETE", entity_path(entity_set, key), headers=headers)

    @classmethod
    def get(cls, url: str) -> BatchRequest:
        return cls("GET", url)

    @classmethod
    def action(
        cls,
        entity_set: str,
        key: Key,
        action: str,
        parameters: Mapping[str, Any],
        *,
        safe_to_resend: bool = False,
    ) -> BatchRequest:
        """A bound action: `POST <set>(<key>)/Microsoft.Dynamics.CRM.<action>`."""
        url = (
            f"{entity_path(entity_set, key)}/Microsoft.Dynamics.CRM.{check_name(action, 'action')}"
        )
        return cls("POST", url, parameters, safe_to_resend=safe_to_resend)


@dataclass(frozen=True)
class ChangeSet:
    """Requests applied all together or not at all."""

    requests: Sequence[BatchRequest]

    def __post_init__(self) -> None:
        if not self.requests:
            raise ValueError("a change set needs at least one request")
        if any(r.method.upper() == "GET" for r in self.requests):
            raise ValueError("a change set cannot contain GET requests")
        if len(self.requests) > MAX_BATCH_REQUESTS:
            raise ValueError(f"a change set holds at most {MAX_BATCH_REQUESTS} requests")


BatchItem = BatchRequest | ChangeSet


@dataclass(frozen=True)
class BatchResult:
    """What happened to one request. `status` is None if the service never processed it."""

    index: int  # position among all requests given, change-set requests included
    request: BatchRequest
    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    error_code: str | None = None
    error_message: str | None = None
    content_id: str | None = None
    change_set: int | None = None  # index of its change set among the items given
    batch_number: int = 0
    sends: int = 1  # times its $batch went out; > 1: an earlier send may have been applied

    @property
    def resent(self) -> bool:
        return self.sends > 1

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def executed(self) -> bool:
        return self.status is not None

    @property
    def why(self) -> str:
        """Why it failed, for an audit detail: Dataverse's message, else its status."""
        if self.status is None:
            return "not processed by Dataverse"
        return self.error_message or f"HTTP {self.status}"

    @property
    def entity_id(self) -> str | None:
        """The id from `OData-EntityId` (creates, upserts), else none."""
        return entity_id_from_url(self.headers.get("odata-entityid"))


@dataclass(frozen=True)
class BatchOutcome:
    results: list[BatchResult]
    http_requests: int  # $batch calls sent

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.executed and not r.ok)

    @property
    def not_executed(self) -> int:
        return sum(1 for r in self.results if not r.executed)

    @property
    def failures(self) -> list[BatchResult]:
        return [r for r in self.results if not r.ok]


# Encoding -------------------------------------------------------------------------------------


def _request_lines(request: BatchRequest) -> list[str]:
    url = request.url if request.url.startswith("$") else f"{API_PATH}/{request.url.lstrip('/')}"
    lines = [f"{request.method.upper()} {url} HTTP/1.1"]
    if request.body is not None:
        lines.append("Content-Type: application/json; type=entry")
    lines.extend(f"{name}: {value}" for name, value in request.headers.items())
    lines.append("")
    if request.body is not None:
        lines.append(json.dumps(request.body, separators=(",", ":"), ensure_ascii=False))
    else:
        lines.append("")
    return lines


def _part(boundary: str, request: BatchRequest, content_id: str | None) -> list[str]:
    lines = [
        f"--{boundary}",
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
    ]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines.append("")
    lines.extend(_request_lines(request))
    return lines


def content_ids(items: Sequence[BatchItem]) -> dict[int, str]:
    """Content-IDs for change-set requests (id(request) -> id): given ones kept, others
    numbered without colliding."""
    given = {r.content_id for item in items if isinstance(item, ChangeSet) for r in item.requests}
    assigned: dict[int, str] = {}
    counter = 0
    for item in items:
        if not isinstance(item, ChangeSet):
            continue
        for request in item.requests:
            if request.content_id is not None:
                assigned[id(request)] = request.content_id
                continue
            counter += 1
            while str(counter) in given:
                counter += 1
            assigned[id(request)] = str(counter)
    return assigned


def encode_batch(items: Sequence[BatchItem], boundary: str) -> bytes:
    ids = content_ids(items)
    lines: list[str] = []
    for item in items:
        if isinstance(item, BatchRequest):
            lines.extend(_part(boundary, item, None))
            continue
        changeset = f"changeset_{uuid.uuid4()}"
        lines.extend([f"--{boundary}", f"Content-Type: multipart/mixed; boundary={changeset}", ""])
        for request in item.requests:
            lines.extend(_part(changeset, request, ids[id(request)]))
        lines.append(f"--{changeset}--")
    lines.append(f"--{boundary}--")
    lines.append("")
    return "\r\n".join(lines).encode("utf-8")


# Decoding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MimePart:
    headers: dict[str, str]
    payload: bytes


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


def boundary_of(content_type: str) -> str | None:
    for piece in content_type.split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    return None


def _split_head(block: bytes) -> tuple[list[str], bytes]:
    """Header lines and the rest, split at the first empty line (CRLF or LF)."""
    if block.startswith(b"\r\n"):
        return [], block[2:]
    if block.startswith(b"\n"):
        return [], block[1:]
    found = [(at, size) for at, size in ((block.find(b"\r\n\r\n"), 4), (block.find(b"\n\n"), 2))]
    found = [(at, size) for at, size in found if at != -1]
    if not found:
        return block.decode("utf-8", "replace").splitlines(), b""
    at, size = min(found)
    return block[:at].decode("utf-8", "replace").splitlines(), block[at + size :]


def _headers(lines: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, found, value = line.partition(":")
        if found:
            headers[name.strip().lower()] = value.strip()
    return headers


def parse_multipart(body: bytes, boundary: str) -> list[MimePart]:
    delimiter = b"--" + boundary.encode()
    parts: list[MimePart] = []
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:  # chunks[0] is the preamble
        if chunk.startswith(b"--"):
            break  # the close delimiter
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.removeprefix(b"\n")
        # The line break before the next delimiter belongs to that delimiter.
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        elif chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        head, payload = _split_head(chunk)
        parts.append(MimePart(_headers(head), payload))
    return parts


def parse_http_answer(payload: bytes) -> HttpAnswer:
    head, body = _split_head(payload)
    if not head or not head[0].startswith("HTTP/"):
        raise ApiError("Dataverse sent a batch part that is not an HTTP response", status=200)
    _, _, status_text = head[0].partition(" ")
    code, _, reason = status_text.partition(" ")
    return HttpAnswer(int(code), reason.strip(), _headers(head[1:]), body.strip())


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _result(
    index: int,
    request: BatchRequest,
    answer: HttpAnswer,
    *,
    content_id: str | None,
    change_set: int | None,
    batch_number: int,
) -> BatchResult:
    code: str | None = None
    message: str | None = None
    if answer.status >= 400:
        message, code = error_details(answer.status, answer.reason, answer.body)
    return BatchResult(
        index=index,
        request=request,
        status=answer.status,
        headers=answer.headers,
        body=_json_or_none(answer.body) if answer.status < 400 else None,
        error_code=code,
        error_message=message,
        content_id=content_id,
        change_set=change_set,
        batch_number=batch_number,
    )


def map_results(
    items: Sequence[tuple[int, BatchItem]],
    parts: Sequence[MimePart],
    *,
    first_index: int,
    batch_number: int,
) -> list[BatchResult]:
    """One result per request, pairing the response parts with the items in order."""
    ids = content_ids([item for _, item in items])
    results: list[BatchResult] = []
    index = first_index
    queue = iter(parts)
    for item_number, item in items:
        requests = [item] if isinstance(item, BatchRequest) else list(item.requests)
        change_set = item_number if isinstance(item, ChangeSet) else None
        part = next(queue, None)
        if part is None:
            for request in requests:
                results.append(
                    BatchResult(
                        index=index,
                        request=request,
                        status=None,
                        content_id=ids.get(id(request)),
                        change_set=change_set,
                        batch_number=batch_number,
                    )
                )
                index += 1
            continue
        inner = boundary_of(part.headers.get("content-type", ""))
        if inner is not None:
            if not isinstance(item, ChangeSet):
                raise ApiError(
                    "Dataverse answered a single batch request with a change set", status=200
                )
            inner_parts = parse_multipart(part.payload, inner)
            answers = [parse_http_answer(p.payload) for p in inner_parts]
            by_id = {
                p.headers.get("content-id"): a for p, a in zip(inner_parts, answers, strict=True)
            }
            for position, request in enumerate(requests):
                cid = ids[id(request)]
                answer = by_id.get(cid) or (answers[position] if position < len(answers) else None)
                if answer is None:
                    raise ApiError(
                        f"Dataverse's change set answer has no part for Content-ID {cid}",
                        status=200,
                    )
                results.append(
                    _result(
                        index,
                        request,
                        answer,
                        content_id=cid,
                        change_set=change_set,
                        batch_number=batch_number,
                    )
                )
                index += 1
            continue
        answer = parse_http_answer(part.payload)
        # A failed change set is answered by one error for the whole set (all rolled back).
        for request in requests:
            results.append(
                _result(
                    index,
                    request,
                    answer,
                    content_id=ids.get(id(request)),
                    change_set=change_set,
                    batch_number=batch_number,
                )
            )
            index += 1
    return results


# Sending --------------------------------------------------------------------------------------


def _size(item: BatchItem) -> int:
    return 1 if isinstance(item, BatchRequest) else len(item.requests)


def chunks(items: Sequence[BatchItem], limit: int) -> Iterator[list[tuple[int, BatchItem]]]:
    """Consecutive groups of items holding at most `limit` requests each."""
    group: list[tuple[int, BatchItem]] = []
    count = 0
    for number, item in enumerate(items):
        size = _size(item)
        if size > limit:
            raise ValueError(f"a change set of {size} requests does not fit a batch of {limit}")
        if count + size > limit:
            yield group
            group, count = [], 0
        group.append((number, item))
        count += size
    if group:
        yield group


def _is_multipart_failure(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == 400 and content_type.lower().startswith("multipart/mixed")


def execute_batch(
    transport: DataverseTransport,
    items: Sequence[BatchItem],
    *,
    continue_on_error: bool = True,
    max_batch_size: int = MAX_BATCH_REQUESTS,
) -> BatchOutcome:
    if not 1 <= max_batch_size <= MAX_BATCH_REQUESTS:
        raise ValueError(f"max_batch_size must be between 1 and {MAX_BATCH_REQUESTS}")
    groups = list(chunks(items, max_batch_size))
    results: list[BatchResult] = []
    sent = 0
    stopped = False
    for number, group in enumerate(groups, 1):
        if stopped:
            results.extend(map_results(group, [], first_index=len(results), batch_number=0))
            continue
        boundary = f"batch_{uuid.uuid4()}"
        requests = [r for _, item in group for r in _requests(item)]
        headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
        if continue_on_error:
            headers["Prefer"] = CONTINUE_ON_ERROR
        sends = 0

        def count_send() -> None:
            nonlocal sends
            sends += 1

        response = transport.send(
            "POST",
            "$batch",
            operation=f"POST $batch {number}/{len(groups)} ({len(requests)} requests)",
            content=encode_batch([item for _, item in group], boundary),
            headers=headers,
            idempotent=all(r.idempotent for r in requests),
            accept=_is_multipart_failure,
            on_attempt=count_send,
        )
        sent += 1
        answer_boundary = boundary_of(response.headers.get("content-type", ""))
        if answer_boundary is None:
            parse_json(response, "POST $batch")  # a JSON error body says more than we can
            raise ApiError("Dataverse answered $batch without a multipart body", status=200)
        parts = parse_multipart(response.content, answer_boundary)
        batch_results = map_results(group, parts, first_index=len(results), batch_number=number)
        if sends > 1:
            batch_results = [replace(r, sends=sends) for r in batch_results]
        results.extend(batch_results)
        if not continue_on_error and (
            response.status_code >= 400 or any(not r.ok for r in batch_results)
        ):
            stopped = True
    return BatchOutcome(results=results, http_requests=sent)


def _requests(item: BatchItem) -> list[BatchRequest]:
    return [item] if isinstance(item, BatchRequest) else list(item.requests)
