"""Webhooks of the Dataverse sandbox: changes made through it are posted to the service
endpoints registered for them, the way Dataverse runs asynchronous webhook steps.

- `Records` reports every row write and list-membership change here (`capture`); a rolled back
  change set or bulk message takes its captures back. At the end of each Web API request (each
  top-level `$batch` part or change set) and of each `DataverseState` edit, `commit` gives the
  captured changes one CorrelationId and the caller's user id and queues one post per matching
  step: enabled (statecode 0), its sdkmessage and sdkmessagefilter (table, or `none` for
  Associate / Disassociate) matching, its event handler a serviceendpoint of contract 8, and
  for Update one of its `filteringattributes` in the change.
- A background thread posts them in order (a bounded FIFO queue; never inside the request that
  made the change, never holding the state lock): the headers Dataverse sends, auth per the
  endpoint's authtype (4 WebhookKey `?code=`, 5 HttpHeader and 6 HttpQueryString from the
  `<settings><setting name= value=/></settings>` authvalue), a 60 s timeout; a non-2xx answer is
  a failure, retried once only for 502/503/504 (PAD `use-webhooks.md`). Failures are kept like
  failed System Jobs (statuscode 31) in `failures`.
- Switches: `hold()` queues without posting, `release()` resumes; `state.wait_for_webhooks(t)`
  returns once the queue is empty; `reset()` clears queue, failures and counts; `stop()` ends
  the thread (the launcher calls it when the sandboxes stop).

Knowingly different: sync steps (mode 0) are delivered like async ones; a contact's deletion
does not post Disassociate for the lists it leaves; seeding (`state.seed_data`) posts nothing.
"""

from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ElementTree
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from sandbox.dataverse.plugin_registration import (
    AUTH_HTTP_HEADER,
    AUTH_HTTP_QUERY_STRING,
    AUTH_WEBHOOK_KEY,
    CONTRACT_WEBHOOK,
    IMAGE_BOTH,
    IMAGE_POST,
    IMAGE_PRE,
    MODE_ASYNC,
    NO_TABLE,
    RELATIONSHIP_MESSAGES,
    STAGE_POST_OPERATION,
)
from sandbox.dataverse.webhook_context import Change, Origin, StepImage, encode
from sandbox.dataverse.webhook_context import remote_execution_context as build_context

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState
    from sandbox.dataverse.store import Transaction

# The user of edits made through `DataverseState` (a person in the CRM), told apart from the
# application users of Web API callers.
CRM_USER_ID = "5b0e2d8c-9a41-4f3e-8c6d-2f7a1e9b4c10"
ORGANIZATION_NAME = "SandboxOrg"
TIMEOUT_SECONDS = 60.0  # "The timeout is 60 seconds."
RETRIED_STATUSES = frozenset({502, 503, 504})
MAX_QUEUE = 100_000


@dataclass(frozen=True)
class Delivery:
    url: str  # with the auth query string, if any
    headers: dict[str, str]
    body: bytes
    step_id: str
    message: str
    entity: str
    correlation_id: str


@dataclass(frozen=True)
class FailedDelivery:
    """A post that did not succeed, like a failed System Job (asyncoperation statuscode 31)."""

    step_id: str
    url: str
    message: str
    entity: str
    correlation_id: str
    status: int | None  # None: no answer (connection refused, timeout, queue full)
    error: str


@dataclass
class WebhookCounts:
    posted: int = 0  # POST attempts sent, retries included
    answered: Counter[int] = field(default_factory=Counter)  # by HTTP status
    failed: int = 0  # deliveries that ended in failure
    retried: int = 0  # second attempts after 502/503/504


def _settings(authvalue: str) -> list[tuple[str, str]]:
    """The name/value pairs of `<settings><setting name="..." value="..." /></settings>`."""
    try:
        root = ElementTree.fromstring(authvalue)
    except ElementTree.ParseError:
        return []
    return [
        (item.get("name", ""), item.get("value", ""))
        for item in root.iter("setting")
        if item.get("name")
    ]


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed URL fails when posted, never in the request that wrote
        return url + ("&" if "?" in url else "?") + urlencode(pairs)
    query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
    return urlunsplit(parts._replace(query=query))


def _ref_id(value: Any) -> str | None:
    return value[0] if isinstance(value, tuple) else None


class Webhooks:
    """Capture, routing and delivery of the sandbox's webhook posts (see the module doc)."""

    def __init__(self, state: DataverseState) -> None:
        self._state = state
        self.organization_host = "127.0.0.1"  # set by the launcher to the server's host
        self._pending: list[Change] = []
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, Delivery]] = deque()
        self._held = False
        self._in_flight = 0
        self._generation = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.counts = WebhookCounts()
        self.failures: list[FailedDelivery] = []

    # Capture (callers hold the state lock) ----------------------------------------------------

    def _has_steps(self) -> bool:
        steps = self._state.tables.get("sdkmessageprocessingstep")
        return steps is not None and len(steps) > 0

    def capture(self, change: Change, transaction: Transaction | None = None) -> None:
        if not self._has_steps():  # nothing registered: writes cost nothing extra
            return
        self._pending.append(change)
        if transaction is not None:
            transaction.record(lambda: self._pending.remove(change))

    def commit(self, user_id: str) -> int:
        """Queue the posts for the changes captured since the last commit, as one operation of
        `user_id` (one CorrelationId); how many posts were queued."""
        changes, self._pending = self._pending, []
        if not changes:
            return 0
        origin = Origin(
            user_id=user_id,
            business_unit_id=self._state.business_unit_id,
            organization_id=self._state.organization_id,
            organization_name=ORGANIZATION_NAME,
            correlation_id=str(uuid.uuid4()),
            request_id=str(uuid.uuid4()),
            created_on=self._state.now(),
        )
        deliveries = [
            delivery for change in changes for delivery in self._deliveries(change, origin)
        ]
        self._enqueue(deliveries)
        return len(deliveries)

    # Routing --------------------------------------------------------------------------------

    def _deliveries(self, change: Change, origin: Origin) -> list[Delivery]:
        tables = self._state.tables
        out: list[Delivery] = []
        for step in list(tables["sdkmessageprocessingstep"].rows.values()):
            values = step.values
            if values.get("statecode") != 0:
                continue
            message = tables["sdkmessage"].get(_ref_id(values.get("sdkmessageid")) or "")
            if message is None or message.values.get("name") != change.message:
                continue
            filter_id = _ref_id(values.get("sdkmessagefilterid"))
            if filter_id is not None:
                found = tables["sdkmessagefilter"].get(filter_id)
                wanted = NO_TABLE if change.message in RELATIONSHIP_MESSAGES else change.table
                if found is None or found.values.get("primaryobjecttypecode") != wanted:
                    continue
            endpoint = tables["serviceendpoint"].get(_ref_id(values.get("eventhandler")) or "")
            if endpoint is None or endpoint.values.get("contract") != CONTRACT_WEBHOOK:
                continue
            filtering = [
                name.strip()
                for name in str(values.get("filteringattributes") or "").split(",")
                if name.strip()
            ]
            # Update steps with filtering attributes fire only when one of them was sent.
            if (
                change.message == "Update"
                and filtering
                and not set(filtering) & set(change.target_columns())
            ):
                continue
            context = build_context(
                change,
                origin,
                step_id=step.id,
                mode=MODE_ASYNC if values.get("mode") is None else int(values["mode"]),
                stage=int(values.get("stage") or STAGE_POST_OPERATION),
                images=self._images(step.id),
            )
            out.append(self._delivery(endpoint.values, context, change, origin, step.id))
        return out

    def _images(self, step_id: str) -> list[StepImage]:
        images = []
        for row in self._state.tables["sdkmessageprocessingstepimage"].rows.values():
            if _ref_id(row.values.get("sdkmessageprocessingstepid")) != step_id:
                continue
            kind = row.values.get("imagetype")
            names = str(row.values.get("attributes") or "")
            images.append(
                StepImage(
                    alias=str(row.values.get("entityalias") or row.values.get("name") or ""),
                    pre=kind in (IMAGE_PRE, IMAGE_BOTH),
                    post=kind in (IMAGE_POST, IMAGE_BOTH),
                    attributes=tuple(n.strip() for n in names.split(",") if n.strip()),
                )
            )
        return images

    def _delivery(
        self,
        endpoint: dict[str, Any],
        context: dict[str, Any],
        change: Change,
        origin: Origin,
        step_id: str,
    ) -> Delivery:
        body, cut = encode(context)
        headers = {
            "content-type": "application/json",
            "x-ms-dynamics-organization": self.organization_host,
            "x-ms-dynamics-entity-name": change.table,
            "x-ms-dynamics-request-name": change.message,
            "x-ms-correlation-request-id": origin.request_id,
        }
        if cut:
            headers["x-ms-dynamics-msg-size-exceeded"] = "true"
        url = str(endpoint.get("url") or "")
        authtype, authvalue = endpoint.get("authtype"), str(endpoint.get("authvalue") or "")
        if authtype == AUTH_WEBHOOK_KEY:
            url = _with_query(url, [("code", authvalue)])
        elif authtype == AUTH_HTTP_QUERY_STRING:
            url = _with_query(url, _settings(authvalue))
        elif authtype == AUTH_HTTP_HEADER:
            headers.update(_settings(authvalue))
        return Delivery(
            url, headers, body, step_id, change.message, change.table, origin.correlation_id
        )

    # Delivery -------------------------------------------------------------------------------

    def _enqueue(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        with self._cond:
            for delivery in deliveries:
                if len(self._queue) >= MAX_QUEUE:
                    self._fail(delivery, None, "the sandbox's webhook queue is full")
                    continue
                self._queue.append((self._generation, delivery))
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="dataverse-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _fail(self, delivery: Delivery, status: int | None, error: str) -> None:
        self.counts.failed += 1
        self.failures.append(
            FailedDelivery(
                delivery.step_id,
                delivery.url,
                delivery.message,
                delivery.entity,
                delivery.correlation_id,
                status,
                error,
            )
        )

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            while True:
                with self._cond:
                    while not self._stopping and (self._held or not self._queue):
                        self._cond.wait()
                    if self._stopping:
                        return
                    generation, delivery = self._queue.popleft()
                    self._in_flight += 1
                try:
                    self._deliver(client, generation, delivery)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _post(self, client: httpx.Client, delivery: Delivery) -> int | str:
        """The answer's status, or the error text when there was no answer."""
        try:
            response = client.post(delivery.url, content=delivery.body, headers=delivery.headers)
            return response.status_code
        except Exception as error:  # a bad URL too: a failed job, never a dead delivery thread
            return f"{type(error).__name__}: {error}"

    def _deliver(self, client: httpx.Client, generation: int, delivery: Delivery) -> None:
        outcome = self._post(client, delivery)
        retry = isinstance(outcome, int) and outcome in RETRIED_STATUSES
        first = outcome
        if retry:
            outcome = self._post(client, delivery)
        with self._cond:
            if generation != self._generation:  # reset() while posting: not this run's
                return
            for attempt in (first, outcome) if retry else (outcome,):
                self.counts.posted += 1
                if isinstance(attempt, int):
                    self.counts.answered[attempt] += 1
            self.counts.retried += int(retry)
            if isinstance(outcome, str):
                self._fail(delivery, None, outcome)
            elif not 200 <= outcome < 300:
                self._fail(delivery, outcome, f"the endpoint answered {outcome}")

    # Switches -------------------------------------------------------------------------------

    def hold(self) -> None:
        """Queue posts but send none until `release()`."""
        with self._cond:
            self._held = True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait(self, timeout: float = 10.0) -> bool:
        """True once every queued post has been made (False: still busy after `timeout`)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._queue and self._in_flight == 0, timeout=timeout
            )

    def reset(self) -> None:
        """Forget captured changes, queued posts, failures and counts; delivery resumes."""
        self._pending = []
        with self._cond:
            self._queue.clear()
            self._generation += 1
            self._held = False
            self.counts = WebhookCounts()
            self.failures = []
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
