"""What the Adobe Campaign Standard sandbox knows: one organization, its IMS credential, its
resources (the profile and `cus` custom resources) with rows, and workflows with signals.

Rows keep an internal increasing id; PKeys and paging positions are opaque encodings of it,
so paging is by key (a row inserted meanwhile is neither skipped nor repeated).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.adobe.events import (
    DEMO_CONSUMER_ORG,
    DEMO_IMS_ORG_ID,
    DEMO_INTEGRATION,
    EventJournal,
    EventMix,
    email_event,
    generated_events,
)
from sandbox.adobe.filters import ChangedSince, default_filters
from sandbox.adobe.imports import FILE_PARAMETER, FileImport, ImportResult, parse, typed
from sandbox.clock import Clock, system_clock
from sandbox.counters import Counters
from sandbox.faults import Faults

DEMO_ORGANIZATION = "sandboxorg"
DEMO_ACS_CLIENT_ID = "demo-acs-client-id"
DEMO_ACS_CLIENT_SECRET = "demo-acs-client-secret"
DEMO_ACS_SCOPES = "openid,AdobeID,campaign_sdk,additional_info.projectedProductContext"

# The technical names are blackList*; the Dynamics pages call them denyList* (UI labels).
DENY_LIST_FIELDS = (
    "blackList",
    "blackListEmail",
    "blackListFax",
    "blackListMobile",
    "blackListPhone",
    "blackListPostalMail",
    "blackListPushnotification",
)
ALIASES = {"denyList" + name.removeprefix("blackList"): name for name in DENY_LIST_FIELDS}
ENUMERATIONS = {
    "gender": ("nms:recipient:gender", ("unknown", "male", "female")),
    "emailFormat": ("nms:recipient:emailFormat", ("unknown", "html", "text")),
}
_TIMESTAMPED = (*DENY_LIST_FIELDS[:-1], "ccpaOptOut")  # each with its own *LastModified
# The profile's technical types that its defaults do not say (INFER: the engine's xtk types).
PROFILE_TYPES = {
    "age": "short", "birthDate": "date", "blackListAllLastModified": "datetime",
    "blackListLastModified": "datetime", "ccpaOptOutLastModified": "datetime",
    "emailFormat": "enumeration", "gender": "enumeration", "preferredLanguage": "enumeration",
    "timeZone": "enumeration", "location": "item", "postalAddress": "item",
    **{f"{name}LastModified": "datetime" for name in _TIMESTAMPED if name != "ccpaOptOut"},
}  # fmt: skip


def profile_defaults() -> dict[str, Any]:
    """A new profile's fields as the API answers them (empty dates as "")."""
    values: dict[str, Any] = {
        "age": 0, "birthDate": "", "cryptedId": "", "domain": "", "email": "",
        "emailFormat": "unknown", "externalId": "", "fax": "", "firstName": "",
        "gender": "unknown", "isExternal": False, "lastName": "", "middleName": "",
        "mobilePhone": "", "phone": "", "preferredLanguage": "none", "salutation": "",
        "thumbnail": "", "timeZone": "none", "title": "",
        "location": {"address1": "", "address2": "", "address3": "", "address4": "",
                     "city": "", "countryCode": "", "stateCode": "", "zipCode": ""},
        "postalAddress": {"addrDefined": False, "addrErrorCount": 0, "addrQuality": "0",
                          "line1": "", "line2": "", "line3": "", "line4": "", "line5": "",
                          "line6": "", "line7": "", "serialized": ""},
        "blackListAllLastModified": "", "blackListLastModified": "",
        "ccpaOptOut": False, "ccpaOptOutLastModified": "",
    }  # fmt: skip
    for name in DENY_LIST_FIELDS:
        values[name] = False
        if name not in ("blackList", "blackListPushnotification"):
            values[name + "LastModified"] = ""
    return values


def wire_time(seconds: float) -> str:
    """ACS's timestamp format: `2026-11-28 09:15:02.123Z`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class ResourceTable:
    """A resource (profile or `cusXxx`) and its rows, id -> fields (PKey and href added on the
    way out). `unique`: fields the engine keeps unique (a second row: PGS-220000)."""

    name: str
    defaults: dict[str, Any]
    unique: tuple[str, ...] = ()
    custom_key: str | None = None  # `/<resource>/<value>` reads a row by this field
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    # unique fields and the custom key: value -> row id, so a key read or a uniqueness check
    # is not a scan of every row (a 100,000-profile benchmark would be quadratic). Kept by
    # the sandbox's own writes (`index`, `unindex`); rows are never edited behind its back.
    keys: dict[str, dict[Any, int]] = field(default_factory=dict)
    # Technical types (resType) where a default's Python type does not say it: dates, links.
    types: dict[str, str] = field(default_factory=dict)
    # A custom resource not yet published is not on the API at all; extension fields not yet
    # published (with "Create the Profiles & Services Ext API") wait here, unknown to the API.
    published: bool = True
    pending: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> set[str]:
        return set(self.defaults) | {"created", "lastModified"}

    def key_fields(self) -> set[str]:
        return set(self.unique) | ({self.custom_key} if self.custom_key else set())

    def index(self, row_id: int) -> None:
        row = self.rows[row_id]
        for name in self.key_fields():
            value = row.get(name)
            if isinstance(value, str | int) and value != "":
                self.keys.setdefault(name, {})[value] = row_id

    def unindex(self, row_id: int) -> None:
        row = self.rows.get(row_id, {})
        for name in self.key_fields():
            value = row.get(name)
            if isinstance(value, str | int) and self.keys.get(name, {}).get(value) == row_id:
                del self.keys[name][value]

    def find(self, name: str, value: Any) -> int | None:
        """The row whose key field `name` holds `value`."""
        if not isinstance(value, str | int):
            return None
        found = self.keys.get(name, {}).get(value)
        return found if found is not None and found in self.rows else None


@dataclass
class SignalTrigger:
    workflow: str
    activity: str
    source: str
    parameters: dict[str, Any]
    at: float


@dataclass
class Workflow:
    id: str
    label: str
    running: bool = True
    # activity name -> declared parameter names
    signals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    last_trigger: dict[str, float] = field(default_factory=dict)
    # activity name -> the import its signal runs (sandbox/adobe/imports.py)
    imports: dict[str, FileImport] = field(default_factory=dict)


class AdobeState:
    """One ACS organization: credential, tokens, resources, workflows, faults, counters."""

    SIGNAL_LOCKOUT_SECONDS = 600.0
    MAX_SIGNAL_PAYLOAD_BYTES = 64 * 1024

    def __init__(
        self,
        *,
        organization: str = DEMO_ORGANIZATION,
        client_id: str = DEMO_ACS_CLIENT_ID,
        client_secret: str = DEMO_ACS_CLIENT_SECRET,
        seed: int = 0,
        clock: Clock = system_clock,
    ) -> None:
        self.lock = threading.RLock()
        self.organization = organization
        self._default_credential = (client_id, client_secret)
        self.seed = seed
        self.clock: Clock = clock
        self.counters = Counters()
        self.faults = Faults(seed)
        self.base_url = ""  # the server's URL, set by the launcher; survives reset()
        self.reset()

    def reset(self, *, seed: int | None = None, clock: Clock | None = None) -> None:
        with self.lock:
            if seed is not None:
                self.seed = seed
            if clock is not None:
                self.clock = clock
            self.client_id, self.client_secret = self._default_credential
            self.token_lifetime = 86399
            self.tokens: dict[str, float] = {}  # access token -> expiry (clock seconds)
            # XtkBigTableThreshold: above it a collection has no `next` unless forced.
            self.big_table_threshold = 100_000
            self.tables: dict[str, ResourceTable] = {
                "profile": ResourceTable(
                    "profile",
                    profile_defaults(),
                    unique=("externalId",),
                    custom_key="externalId",
                    types=dict(PROFILE_TYPES),
                )
            }
            # (resource, by<Name>) -> a custom filter an administrator defined
            self.filters: dict[tuple[str, str], ChangedSince] = default_filters()
            self.workflows: dict[str, Workflow] = {}
            # Adobe I/O Events: the organization's IMS id and one registration's journal.
            self.ims_org_id = DEMO_IMS_ORG_ID
            self.journal = EventJournal(salt=f"j{self.seed}")
            self.triggers: list[SignalTrigger] = []
            self._throttles: list[int] = []  # Retry-After seconds of the next 429s
            self._next_id = 1
            self._salt = f"s{self.seed}"  # PKeys stable per seed, foreign to other seeds
            self.faults.reset(self.seed)
            self.counters.reset()

    def now(self) -> float:
        return self.clock()

    # Credentials ------------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        if client_id != self.client_id or client_secret != self.client_secret:
            return None
        token = "acs-sandbox-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.now() + self.token_lifetime
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and self.now() < expiry

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the next call meets 401013)."""
        with self.lock:
            self.tokens.clear()

    def throttle_next(self, count: int = 1, retry_after: int = 1) -> None:
        with self.lock:
            self._throttles.extend([retry_after] * count)

    def take_throttle(self) -> int | None:
        with self.lock:
            return self._throttles.pop(0) if self._throttles else None

    # Resources --------------------------------------------------------------------------------

    def add_custom_resource(
        self,
        name: str,
        fields: dict[str, Any],
        *,
        unique: tuple[str, ...] = (),
        custom_key: str | None = None,
        types: dict[str, str] | None = None,
        published: bool = True,
    ) -> ResourceTable:
        """A `cus` resource with its fields' defaults; `types`: technical types the defaults
        do not say (`date`, `datetime`, `link:<resource>`); `published=False`: created in
        Campaign but not yet on the API (`publish()`)."""
        if not name.startswith("cus"):
            raise ValueError("custom resources carry the `cus` prefix")
        table = ResourceTable(
            name, dict(fields), unique=unique, custom_key=custom_key,
            types=dict(types or {}), published=published,
        )  # fmt: skip
        with self.lock:
            self.tables[name] = table
        return table

    def extend_resource(
        self,
        name: str,
        fields: dict[str, Any],
        *,
        types: dict[str, str] | None = None,
        published: bool = True,
    ) -> None:
        """Extension fields (defaults) added to a resource, e.g. the profile; `published=False`:
        on the resource in Campaign, but not on the API until `publish()`."""
        with self.lock:
            table = self.tables[name]
            table.types.update(types or {})
            if published:
                table.defaults.update(fields)
            else:
                table.pending.update(fields)

    def publish(self) -> None:
        """The administrator publishes the data model (with "Create the Profiles & Services
        Ext API"): pending extension fields and custom resources reach the API."""
        with self.lock:
            for table in self.tables.values():
                table.defaults.update(table.pending)
                table.pending.clear()
                table.published = True

    def pkey(self, resource: str, row_id: int) -> str:
        raw = f"{self._salt}|{resource}|{row_id}".encode()
        return "@" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def row_id(self, resource: str, pkey: str) -> int | None:
        """The row a PKey names in `resource`, None for a PKey this sandbox never made."""
        if not pkey.startswith("@"):
            return None
        text = pkey[1:]
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            salt, name, number = raw.split("|")
            value = int(number)
        except (ValueError, UnicodeDecodeError):
            return None
        return value if salt == self._salt and name == resource else None

    def insert(self, resource: str, values: dict[str, Any]) -> int:
        """Store a row as given (no checks: the API layer checks); returns its id."""
        with self.lock:
            table = self.tables[resource]
            row = {**_copy(table.defaults), **values}
            stamp = wire_time(self.now())
            row.setdefault("created", stamp)
            row["created"] = row["created"] or stamp
            row["lastModified"] = stamp
            row_id = self._next_id
            self._next_id += 1
            table.rows[row_id] = row
            table.index(row_id)
            return row_id

    def seed_profiles(self, count: int, *, prefix: str = "person") -> list[int]:
        """`count` profiles with distinct emails and externalIds (tests of paging)."""
        return [
            self.insert(
                "profile",
                {
                    "email": f"{prefix}{n}@example.invalid",
                    "externalId": f"{prefix}-{n:06d}",
                    "firstName": prefix.title(),
                    "lastName": f"No{n}",
                },
            )
            for n in range(count)
        ]

    def profiles(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(row) for row in self.tables["profile"].rows.values()]

    # Email events (Adobe I/O Events journal) ---------------------------------------------------

    def journal_url(self) -> str:
        """The registration's journaling endpoint, as the Developer Console shows it."""
        return (
            f"{self.base_url}/events/organizations/{DEMO_CONSUMER_ORG}/integrations/"
            f"{DEMO_INTEGRATION}/{self.journal.registration}"
        )

    def mirror_base(self) -> str:
        return f"{self.base_url}/{self.organization}/campaign/profileAndServices/history"

    def add_email_event(self, kind: str, external_id: str, **fields: Any) -> dict[str, Any]:
        """Journal one email event (kind: send, open, click, bounce) now; returns the event."""
        with self.lock:
            now = self.now()
            fields.setdefault("email", "")
            fields.setdefault("campaign_id", "CM1")
            fields.setdefault("delivery_id", "DM1")
            fields.setdefault(
                "mirror_page", f"{self.mirror_base()}/mirror/{len(self.journal.entries)}"
            )
            event = email_event(kind, external_id=external_id, at=now, **fields)
            self.journal.append(event, now)
            return event

    def generate_email_events(
        self, count: int, *, seed: int = 0, mix: EventMix | None = None
    ) -> list[dict[str, Any]]:
        """`count` events about the profiles there are now (see `events.generated_events`),
        dated from `count` seconds ago to now, journaled now."""
        with self.lock:
            now = self.now()
            profiles = [self.tables["profile"].rows[i] for i in sorted(self.tables["profile"].rows)]
            made = generated_events(
                profiles, count, seed=seed, start=now - count - 1,
                mirror_base=self.mirror_base(), mix=mix or EventMix(),
            )  # fmt: skip
            for _at, event in made:
                self.journal.append(event, now)
            return [event for _at, event in made]

    # Workflows --------------------------------------------------------------------------------

    def add_workflow(
        self,
        workflow_id: str,
        label: str = "",
        *,
        signals: dict[str, tuple[str, ...]] | None = None,
        running: bool = True,
    ) -> Workflow:
        workflow = Workflow(workflow_id, label or workflow_id, running, dict(signals or {}))
        with self.lock:
            self.workflows[workflow_id] = workflow
        return workflow

    def run_import(self, workflow: Workflow, activity: str, parameters: dict[str, Any]) -> None:
        """The import a signal starts, if the workflow has one (under the state's lock)."""
        spec = workflow.imports.get(activity)
        if spec is None:
            return
        name = str(parameters.get(FILE_PARAMETER) or "")
        result = ImportResult(file=name)
        spec.results.append(result)
        data = spec.read_file(name) if name else None
        if data is None:
            result.error = f"Load file: '{name}' not found in the file drop"
            return
        try:
            rows = parse(data, name, spec.separator)
        except (ValueError, OSError, EOFError) as error:
            result.error = f"Load file: {error}"
            return
        table = self.tables[spec.resource]
        by_key = {row.get(spec.key): row_id for row_id, row in table.rows.items()}
        stamp = wire_time(self.now())
        for cells in rows:
            values = {
                column: typed(table.defaults, column, text)
                for column, text in cells.items()
                if column in table.defaults
            }
            row_id = by_key.get(values.get(spec.key))
            if row_id is None:
                by_key[values.get(spec.key)] = self.insert(spec.resource, values)
                result.created += 1
            else:
                table.rows[row_id].update(values)
                table.rows[row_id]["lastModified"] = stamp
                result.updated += 1
            result.rows += 1


def _copy(values: dict[str, Any]) -> dict[str, Any]:
    return {key: dict(value) if isinstance(value, dict) else value for key, value in values.items()}
