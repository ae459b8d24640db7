"""In-memory state of the Dotdigital sandbox: API users, account, data fields, rate limit,
faults and counters. Tests edit it directly; `reset()` returns to the seed."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock, system_clock
from sandbox.counters import Counters
from sandbox.faults import Faults, RateWindow

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
