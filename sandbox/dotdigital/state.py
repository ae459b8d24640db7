"""In-memory state of the Dotdigital sandbox: API users, account, data fields, contacts,
address books, suppressions, imports, campaigns, programs, preferences, rate limits, faults and
counters, contact scores and WebInsight page views (`behaviour`). Tests edit it directly;
`reset()` returns to the seed (an empty account with the
reserved data fields and the "Test" address book); `populate(SeedSpec(...))` fills it.

Switches (all reset by `reset()`):
- imports: `import_not_finished_polls` (polls answered NotFinished first, default 1),
  `import_seconds` (sandbox seconds before a job may finish), `max_active_imports` (25),
  `max_import_body_bytes` (50 MiB), `contact_limit` (None), `fail_next_import(status)`,
  `occupy_import_slots(count, seconds)` (another integration's imports),
  `apply_imports_without_polling` (False: a job is applied by the poll that finds it ready;
  True: as real Dotdigital, a job is applied once ready whether or not anyone polls, checked
  at its submission and at every later request);
- bulk removals from address books: `deletion_not_finished_polls` (default 1);
- paging faults: `stuck_marker` (v3 keeps handing out the same next marker), `ignore_skip`
  (v2 list calls answer the first page whatever `skip` says);
- one route failing while the others answer (a campaign's dataset): `faults.fail_route`;
- program enrolments: `enrolments_per_hour` (20);
- rate limits: `set_rate_limit`, `throttle_next`, `legacy_rate_limit` (as before).
- API users: `fail_user(user, status)` (every call of that user answers that 5xx: an
  account whose Dotdigital is down, while the other API users' calls go through).
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.clock import Clock, system_clock
from sandbox.counters import Counters
from sandbox.dotdigital.behaviour import Scoring, WebInsight
from sandbox.dotdigital.campaigns import ActivityRecord, CampaignRecord, SendRecord
from sandbox.dotdigital.contacts import SUPPRESSED_STATUSES, ContactStore
from sandbox.dotdigital.imports import FAILURE_STATUSES, ImportJob, apply_import, would_create
from sandbox.dotdigital.preference_optins import OptIns
from sandbox.dotdigital.programs import (
    AccountUserRecord,
    EnrolmentRecord,
    PreferenceRecord,
    ProgramRecord,
    default_account_users,
)
from sandbox.dotdigital.resubscribe import Resubscriptions, confirm
from sandbox.dotdigital.surveys import SurveyStore
from sandbox.faults import Faults, RateWindow

if TYPE_CHECKING:
    from sandbox.dotdigital.generator import Seeded, SeedSpec

DEMO_API_USER = "apiuser-demo@example.invalid"
DEMO_API_PASSWORD = "demo-password-1"
DEMO_ACCOUNT_ID = 1001

DATA_FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")
VISIBILITIES = ("Private", "Public")

# The contact data fields every account starts with (they cannot be deleted).
RESERVED_FIELDS: tuple[tuple[str, str], ...] = (
    ("FIRSTNAME", "String"),
    ("LASTNAME", "String"),
    ("FULLNAME", "String"),
    ("GENDER", "String"),
    ("POSTCODE", "String"),
    ("ADDRESS", "String"),
    ("LASTSUBSCRIBED", "Date"),
)


@dataclass
class DataFieldRecord:
    name: str
    type: str
    visibility: str = "Private"
    default_value: Any = None
    reserved: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "visibility": self.visibility,
            "defaultValue": self.default_value,
        }


@dataclass(eq=False)
class DeletionJob:
    id: str
    address_book_id: int
    contact_ids: list[int]
    polls: int = 0
    status: str = "Started"


@dataclass(frozen=True)
class Throttle:
    reset_in: int
    legacy: bool


class DotdigitalState:
    """Everything the Dotdigital sandbox knows about one account and its API users."""

    def __init__(
        self,
        *,
        api_user: str = DEMO_API_USER,
        password: str = DEMO_API_PASSWORD,
        account_id: int = DEMO_ACCOUNT_ID,
        region: str = "r1",
        seed: int = 0,
        clock: Clock = system_clock,
    ) -> None:
        self._lock = threading.RLock()
        self.lock = self._lock  # handlers hold it while they read or change the account
        self._default_user = (api_user, password)
        self.account_id = account_id
        self.region = region
        # Base URL of the account's regional API server, as account-info reports it. Set by
        # the launcher once the servers run; survives reset().
        self.api_endpoint: str | None = None
        self.seed = seed
        self.clock: Clock = clock
        self.counters = Counters()
        self.faults = Faults(seed)
        self.reset()

    def reset(self, *, seed: int | None = None, clock: Clock | None = None) -> None:
        with self._lock:
            if seed is not None:
                self.seed = seed
            if clock is not None:
                self.clock = clock
            user, password = self._default_user
            self.api_users: dict[str, str] = {user: password}
            self.failing_users: dict[str, int] = {}  # API user -> the 5xx its calls get
            self.main_email = "marketing@example.invalid"
            self.data_fields: list[DataFieldRecord] = [
                DataFieldRecord(name, kind, "Public", None, reserved=True)
                for name, kind in RESERVED_FIELDS
            ]
            self.custom_field_limit = 394
            # Fields left out of GET /v2/data-fields: a field another user creates just after
            # the connector read the list (the race behind ERROR_NON_UNIQUE_DATAFIELD).
            self.hidden_from_list: set[str] = set()
            self.hourly_call_limit = 2000
            self.rate_limit: RateWindow | None = None
            self.rate_limit_scope = "account"
            self.legacy_rate_limit = False
            self._throttles: list[Throttle] = []
            self._call_times: deque[float] = deque()
            self._rng = random.Random(self.seed)
            # Contacts, address books, suppressions.
            self.store = ContactStore()
            # Resubscribes: `resubscriptions.double_opt_in` (the account enforces double opt-in),
            # pending challenges and the confirmation emails sent.
            self.resubscriptions = Resubscriptions()
            # v3 imports.
            self.imports: dict[str, ImportJob] = {}
            self.import_not_finished_polls = 1
            self.import_seconds = 0.0
            self.max_active_imports = 25
            self.max_import_body_bytes = 50 * 1024 * 1024
            self.contact_limit: int | None = None
            self.apply_imports_without_polling = False
            self._import_failures: deque[str] = deque()
            # v2 bulk removals from address books.
            self.deletions: dict[str, DeletionJob] = {}
            self.deletion_not_finished_polls = 1
            # Paging faults.
            self.stuck_marker = False
            self.ignore_skip = False
            # Campaigns, sends, programs, preferences.
            self.campaigns: dict[int, CampaignRecord] = {}
            self.sends: list[SendRecord] = []
            self.programs: dict[int, ProgramRecord] = {}
            self.enrolments: dict[str, EnrolmentRecord] = {}
            self.enrolments_per_hour = 20
            self._enrolment_window = RateWindow(20, 3600, lambda: self.now())
            self.account_users: dict[int, AccountUserRecord] = default_account_users()
            self.preferences: list[PreferenceRecord] = []
            self.preference_optins = OptIns()  # dated opt-ins and opt-outs per contact
            self.scoring = Scoring()  # contact scores; `scoring.enabled = False`: not activated
            self.web_insight = WebInsight()  # page views the tracking script recorded
            self.surveys = SurveyStore()  # pages and forms, their responses
            self._next_ids = {"campaign": 500_001, "program": 9_001, "preference": 1}
            self.faults.reset(self.seed)
            self.counters.reset()

    def now(self) -> float:
        return self.clock()

    # API users ------------------------------------------------------------------------------

    def add_api_user(self, user: str, password: str) -> None:
        with self._lock:
            self.api_users[user] = password

    def authenticate(self, user: str, password: str) -> bool:
        with self._lock:
            return self.api_users.get(user) == password

    def fail_user(self, user: str, status: int = 500) -> None:
        """Answer every call of this API user with `status` (a server error)."""
        if not 500 <= status <= 599:
            raise ValueError("a failing API user gets server errors (5xx)")
        with self._lock:
            self.failing_users[user] = status

    def failure_for(self, user: str) -> int | None:
        with self._lock:
            return self.failing_users.get(user)

    # Usage and rate limits ----------------------------------------------------------------

    def set_rate_limit(self, per_window: int | None, window_seconds: float = 60.0) -> None:
        """Allow `per_window` calls per window (None: unlimited); then 429 (or legacy 400)."""
        with self._lock:
            self.rate_limit = (
                None
                if per_window is None
                else RateWindow(per_window, window_seconds, lambda: self.now())
            )

    def throttle_next(self, count: int = 1, *, reset_in: int = 1, legacy: bool = False) -> None:
        """Refuse the next `count` authenticated calls as rate-limited."""
        with self._lock:
            self._throttles.extend(Throttle(reset_in, legacy) for _ in range(count))

    def record_call(self) -> None:
        with self._lock:
            now = self.now()
            if self.apply_imports_without_polling:
                self._apply_ready_imports(now)
            self._call_times.append(now)
            while self._call_times and self._call_times[0] <= now - 3600:
                self._call_times.popleft()

    def calls_in_last_hour(self) -> int:
        with self._lock:
            now = self.now()
            return sum(1 for t in self._call_times if t > now - 3600)

    def rate_limited(self) -> tuple[bool, dict[str, str]] | None:
        """None if the call may run, else (legacy?, x-ratelimit-* headers)."""
        with self._lock:
            if self._throttles:
                throttle = self._throttles.pop(0)
                limit = self.rate_limit.limit if self.rate_limit else 0
                reset = math.ceil(self.now()) + throttle.reset_in
                return throttle.legacy, self._headers(limit, reset)
            window = self.rate_limit
            if window is None or window.try_consume():
                return None
            return self.legacy_rate_limit, self._headers(window.limit, math.ceil(window.reset_at()))

    def throttle_headers(self, seconds: int) -> dict[str, str]:
        """The x-ratelimit-* headers of a 429 that asks to come back in `seconds`."""
        with self._lock:
            limit = self.rate_limit.limit if self.rate_limit else 0
            return self._headers(limit, math.ceil(self.now()) + seconds)

    def _headers(self, limit: int, reset_epoch: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset_epoch),
            "x-ratelimit-scope": self.rate_limit_scope,
        }

    # Data fields ------------------------------------------------------------------------------

    def field(self, name: str) -> DataFieldRecord | None:
        with self._lock:
            return next((f for f in self.data_fields if f.name.lower() == name.lower()), None)

    def custom_field_count(self) -> int:
        with self._lock:
            return sum(1 for f in self.data_fields if not f.reserved)

    def field_name(self, name: str) -> str | None:
        """The account's spelling of a data field name (any casing), or None."""
        record = self.field(name)
        return None if record is None else record.name

    # Ids --------------------------------------------------------------------------------------

    def new_guid(self) -> str:
        """A GUID from the seeded generator, so a run is reproducible."""
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _next_id(self, kind: str) -> int:
        with self._lock:
            value = self._next_ids[kind]
            self._next_ids[kind] += 1
            return value

    # Seeding ----------------------------------------------------------------------------------

    def populate(self, spec: SeedSpec) -> Seeded:
        """Fill the account deterministically (see `sandbox.dotdigital.generator`)."""
        from sandbox.dotdigital.generator import populate

        return populate(self, spec)

    # Imports ----------------------------------------------------------------------------------

    def fail_next_import(self, status: str = "RejectedByWatchdog", count: int = 1) -> None:
        """The next `count` imports end in `status` and change nothing."""
        if status not in FAILURE_STATUSES:
            raise ValueError(f"an import fails with one of {FAILURE_STATUSES}")
        with self._lock:
            self._import_failures.extend([status] * count)

    def occupy_import_slots(self, count: int, seconds: float) -> None:
        """`count` imports of another integration, active for `seconds` of sandbox time."""
        with self._lock:
            now = self.now()
            for _ in range(count):
                job = ImportJob(self.new_guid(), now, [], "overwrite", 0, now + seconds)
                job.foreign = True
                self.imports[job.id] = job

    def active_imports(self) -> int:
        with self._lock:
            now = self.now()
            return sum(1 for job in self.imports.values() if job.active(now))

    def submit_import(self, contacts: list[Any], merge_option: str) -> ImportJob:
        with self._lock:
            now = self.now()
            job = ImportJob(
                id=self.new_guid(),
                submitted=now,
                contacts=contacts,
                merge_option=merge_option,
                not_finished_polls=self.import_not_finished_polls,
                ready_at=now + self.import_seconds,
                fail_with=self._import_failures.popleft() if self._import_failures else None,
            )
            limit = self.contact_limit
            if job.fail_with is None and limit is not None:
                over = self.store.count() + would_create(self.store, contacts) > limit
                job.fail_with = "ExceedsAllowedContactLimit" if over else None
            self.imports[job.id] = job
            if self.apply_imports_without_polling:
                self._apply_ready_imports(now)
            return job

    def _apply_ready_imports(self, now: float) -> None:
        """Apply every job whose processing time is over (polls or not: Dotdigital's own
        processing does not wait for the client)."""
        for job in list(self.imports.values()):
            if job.result is None and now >= job.ready_at:
                self._finish(job)

    def poll_import(self, job: ImportJob) -> dict[str, Any]:
        """One status poll: NotFinished until the job is ready, then its final result."""
        with self._lock:
            if job.result is None:
                if not job.ready(self.now()):
                    job.polls += 1
                    return {"importId": job.id, "status": "NotFinished"}
                self._finish(job)
            assert job.result is not None
            return job.result

    def complete_imports(self) -> None:
        """Finish every import now, ready or not."""
        with self._lock:
            for job in list(self.imports.values()):
                if job.result is None:
                    self._finish(job)

    def _finish(self, job: ImportJob) -> None:
        if job.fail_with is not None or job.foreign:
            job.result = {"importId": job.id, "status": job.fail_with or "Finished"}
        else:
            job.result = apply_import(self.store, job, self.field_name, self.now())
        job.contacts = []

    # Bulk removals ----------------------------------------------------------------------------

    def poll_deletion(self, job: DeletionJob) -> DeletionJob:
        with self._lock:
            if job.status == "Started":
                if job.polls < self.deletion_not_finished_polls:
                    job.polls += 1
                else:
                    book = self.store.books.get(job.address_book_id)
                    if book is None:
                        job.status = "Failed"
                    else:
                        for contact_id in job.contact_ids:
                            if contact_id in self.store.contacts:
                                self.store.leave(book, contact_id, self.now())
                        job.status = "Completed"
            return job

    # Campaigns --------------------------------------------------------------------------------

    def add_campaign(
        self, name: str, subject: str | None = None, *, status: str = "Unsent"
    ) -> CampaignRecord:
        with self._lock:
            campaign = CampaignRecord(
                self._next_id("campaign"), name, subject or name, status=status
            )
            self.campaigns[campaign.id] = campaign
            return campaign

    def send_campaign(
        self,
        campaign: CampaignRecord,
        address_book_ids: list[int],
        contact_ids: list[int],
        send_date: float | None,
    ) -> SendRecord:
        """Send as Dotdigital does: to the books' and the listed contacts' subscribed contacts,
        or, with neither, to ALL subscribed contacts of the account."""
        with self._lock:
            now = self.now()
            if not address_book_ids and not contact_ids:
                recipients = [
                    c.id for c in self.store.contacts.values() if c.status == "Subscribed"
                ]
            else:
                chosen: dict[int, None] = {}
                for book_id in address_book_ids:
                    chosen.update(self.store.books[book_id].members)
                chosen.update(dict.fromkeys(contact_ids))
                recipients = [
                    i
                    for i in chosen
                    if i in self.store.contacts and self.store.contacts[i].status == "Subscribed"
                ]
            when = now if send_date is None or send_date <= now else send_date
            send = SendRecord(
                self.new_guid(),
                campaign.id,
                list(address_book_ids),
                list(contact_ids),
                when,
                recipients,
                status="Scheduled" if when > now else "Sending",
            )
            self.sends.append(send)
            if send.status == "Sending":
                campaign.status = "Sent"
                campaign.date_sent = now
                for contact_id in recipients:
                    contact = self.store.contacts[contact_id]
                    campaign.activities[contact_id] = ActivityRecord(
                        contact_id, contact.email or "", date_sent=now
                    )
            return send

    def send_by_id(self, send_id: str) -> SendRecord | None:
        with self._lock:
            return next((s for s in self.sends if s.id == send_id), None)

    # Programs ---------------------------------------------------------------------------------

    def add_program(self, name: str, *, status: str = "Active") -> ProgramRecord:
        with self._lock:
            program = ProgramRecord(self._next_id("program"), name, status, self.now())
            self.programs[program.id] = program
            return program

    def enrol(
        self, program: ProgramRecord, contacts: list[int], books: list[int]
    ) -> EnrolmentRecord:
        with self._lock:
            enrolment = EnrolmentRecord(self.new_guid(), program.id, self.now(), contacts, books)
            self.enrolments[enrolment.id] = enrolment
            program.enrolled.update(contacts)
            for book_id in books:
                program.enrolled.update(self.store.books[book_id].members)
            return enrolment

    def enrolment_allowed(self) -> RateWindow | None:
        """None if another enrolment call fits this hour, else the spent window."""
        with self._lock:
            if self._enrolment_window.limit != self.enrolments_per_hour:
                self._enrolment_window = RateWindow(
                    self.enrolments_per_hour, 3600, lambda: self.now()
                )
            return None if self._enrolment_window.try_consume() else self._enrolment_window

    # Preferences ------------------------------------------------------------------------------

    def add_preference(
        self, name: str, *, category: PreferenceRecord | None = None, is_public: bool = True
    ) -> PreferenceRecord:
        with self._lock:
            siblings = category.children if category is not None else self.preferences
            record = PreferenceRecord(
                self._next_id("preference"),
                name,
                name,
                is_preference=True,
                category_id=category.id if category is not None else 0,
                order=len(siblings),
                is_public=is_public,
                created=self.now(),
                last_modified=self.now(),
            )
            siblings.append(record)
            return record

    def add_preference_category(self, name: str) -> PreferenceRecord:
        with self._lock:
            record = PreferenceRecord(
                self._next_id("preference"),
                name,
                name,
                is_preference=False,
                order=len(self.preferences),
                created=self.now(),
                last_modified=self.now(),
            )
            self.preferences.append(record)
            return record

    def preference(self, preference_id: int) -> PreferenceRecord | None:
        with self._lock:
            for record in self.preferences:
                if record.id == preference_id:
                    return record
                for child in record.children:
                    if child.id == preference_id:
                        return child
            return None

    # Suppressions -----------------------------------------------------------------------------

    def confirm_resubscription(self, email: str) -> bool:
        """The contact clicks the link of its resubscribe confirmation email."""
        with self._lock:
            return confirm(self.store, self.resubscriptions, email, self.now())

    def is_suppressed(self, status: str) -> bool:
        return status in SUPPRESSED_STATUSES
