"""The webhook endpoint's logic: a Dataverse post checked, parsed, recorded, answered.

Order: method (405), size (413), key (401), organization header known (403), body (400), body
OrganizationId is that organization's (403), then `record_event` and 202. Bad input never
reaches a 5xx; a storage fault answers 503, which Dataverse retries once. It never calls
Dataverse or the platform: the runs it starts do.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from azure.core.exceptions import AzureError
from opentelemetry.trace import SpanKind

from shared.errors import ConflictError, RetriableError
from shared.pipeline import webhook_events
from shared.pipeline.webhook_events import RecordOutcome
from shared.runtime import Runtime
from shared.storage.webhook_registrations import WebhookRegistration
from shared.telemetry import metrics
from shared.telemetry.tracing import span
from shared.webhooks.auth import KeyCheck, check_key
from shared.webhooks.context import ORGANIZATION, InvalidWebhook, parse_event
from shared.webhooks.event import ChangeEvent

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Dataverse caps its posts at 256 KB; more is not Dataverse
RETRY_AFTER_SECONDS = 5
# Registrations change when an operator runs `webhooks register`: rows are cached this long.
CACHE_SECONDS = 30.0
# An unknown organization re-reads the table at most this often (a just-registered one is
# accepted within seconds; a flood of unknown ones costs one query per interval).
MISS_REFRESH_SECONDS = 2.0

Recorder = Callable[[Runtime, ChangeEvent, WebhookRegistration], RecordOutcome]


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    body: bytes
    headers: Mapping[str, str]  # any case: kept lower-cased
    query: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lowered = {name.lower(): value for name, value in self.headers.items()}
        object.__setattr__(self, "headers", lowered)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content(self) -> bytes:
        return json.dumps(self.body).encode()

    @property
    def media_type(self) -> str:
        return "application/json" if self.status < 400 else "application/problem+json"


def receive(
    rt: Runtime, request: WebhookRequest, *, recorder: Recorder | None = None
) -> WebhookAnswer:
    """Answer one post. `recorder`: tests inject theirs; by default `record_event`. The post is
    a trace's root: runs it starts carry its context in their messages."""
    started = time.monotonic()
    with span("webhook post", kind=SpanKind.SERVER) as current:
        answer = _answer(rt, request, recorder)
        current.set_attribute("http.response.status_code", answer.status)
    metrics.webhook_answered(time.monotonic() - started, answer.status)
    return answer


def _answer(rt: Runtime, request: WebhookRequest, recorder: Recorder | None) -> WebhookAnswer:
    record = recorder or webhook_events.record_event
    try:
        answer, event, outcome = _receive(rt, request, record)
    except (AzureError, RetriableError, ConflictError) as error:
        # Storage did not answer (or a race the recorder lost): Dataverse retries a 503 once,
        # and the scheduled syncs catch what a lost event would have sped up.
        log.warning("Webhook post answered 503: storage failed: %s", type(error).__name__)
        return _problem(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "The connector could not record the event; try again later.",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except Exception:
        # A bug, never bad input (the fuzz test posts thousands of bad bodies to prove it).
        log.exception("Webhook post failed unexpectedly")
        return _problem(HTTPStatus.INTERNAL_SERVER_ERROR, "The connector failed on this post.")
    if event is None:
        log.info("Webhook post refused %d: %s", answer.status, answer.body.get("detail", ""))
    else:
        log.info(
            "Webhook post %d %s: %s %s %s",
            answer.status, outcome, event.message, event.entity, event.key,
        )  # fmt: skip
    return answer


def _receive(
    rt: Runtime, request: WebhookRequest, record: Recorder
) -> tuple[WebhookAnswer, ChangeEvent | None, RecordOutcome | None]:
    if request.method.upper() != "POST":
        return (
            _problem(HTTPStatus.METHOD_NOT_ALLOWED, "Post the webhook.", {"Allow": "POST"}),
            None,
            None,
        )
    if len(request.body) > MAX_BODY:
        detail = f"The body is over {MAX_BODY} bytes (Dataverse sends at most 256 KB)."
        return _problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail), None, None
    key = check_key(rt.settings.dynamics_webhook_key, request.headers, request.query)
    if key is not KeyCheck.PASSED:
        detail = f"Unauthorized: {key.value}."
        return _problem(HTTPStatus.UNAUTHORIZED, detail), None, None
    domain = request.headers.get(ORGANIZATION, "").strip().lower()
    registration = _registrations(rt).by_domain(domain) if domain else None
    if registration is None:
        detail = (
            f"The organization {_shown(domain)} is not registered for webhooks."
            if domain
            else f"The {ORGANIZATION} header is missing."
        )
        return _problem(HTTPStatus.FORBIDDEN, detail), None, None
    try:
        event = parse_event(request.body, request.headers)
    except InvalidWebhook as error:
        return _problem(HTTPStatus.BAD_REQUEST, str(error)), None, None
    if event.organization_id != registration.organization_id:
        detail = f"OrganizationId is not the one registered for {_shown(domain)}."
        return _problem(HTTPStatus.FORBIDDEN, detail), None, None
    outcome = record(rt, event, registration)
    body = {"status": outcome.value, "event": event.key}
    return WebhookAnswer(int(HTTPStatus.ACCEPTED), body), event, outcome


def _problem(
    status: HTTPStatus, detail: str, headers: dict[str, str] | None = None
) -> WebhookAnswer:
    """An RFC 9457 problem: no type of our own yet (about:blank), the status's phrase."""
    body = {"type": "about:blank", "title": status.phrase, "status": int(status), "detail": detail}
    return WebhookAnswer(int(status), body, headers or {})


def _shown(domain: str) -> str:
    """A header value in an answer: short and printable."""
    text = "".join(c if c.isprintable() else "?" for c in domain[:100])
    return repr(text + ("..." if len(domain) > 100 else ""))


class RegistrationCache:
    """The WebhookRegistrations rows by domain, read whole (one query: the table holds one row
    per organization, and the header names a domain, not the RowKey) and kept for a while."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._lock = threading.Lock()
        self._rows: dict[str, WebhookRegistration] = {}
        self._read_at = float("-inf")

    def by_domain(self, domain: str) -> WebhookRegistration | None:
        with self._lock:
            age = time.monotonic() - self._read_at
            found = self._rows.get(domain)
            if age > CACHE_SECONDS or (found is None and age > MISS_REFRESH_SECONDS):
                self._read()
                found = self._rows.get(domain)
            return found

    def _read(self) -> None:
        rows = self._rt.webhook_registrations.all()
        self._rows = {row.organization_domain.lower(): row for row in rows}
        self._read_at = time.monotonic()


_caches: weakref.WeakKeyDictionary[Runtime, RegistrationCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _registrations(rt: Runtime) -> RegistrationCache:
    with _caches_lock:
        cache = _caches.get(rt)
        if cache is None:
            cache = _caches[rt] = RegistrationCache(rt)
        return cache
