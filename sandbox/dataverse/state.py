"""In-memory state of the Dataverse sandbox: registered app, issued tokens, attribute metadata,
service-protection budget, faults and call counters, and the rows of the tables (contact,
lead, account, list, listmember, annotation, task, phonecall, custom activities) with their
versions for change tracking. Tests edit it directly.

Seeding and switches (all reset by `reset()`):

    state.seed_data(contacts=1000, leads=200, accounts=50,
                    lists=[("Newsletter", "contact", 300),
                           ListSpec("Seattle", "contact", dynamic=True)])
    state.insert("contact", {"firstname": "Ada", "emailaddress1": "ada@example.com"}) -> id
    state.update("contact", id, {...}); state.delete("contact", id); state.row("contact", id)
    state.expire_change_tokens()          # every delta link issued so far is refused
    state.change_tracking_days = 30       # delta tokens older than this are refused
    state.set_change_tracking("contact", False)
    state.concurrency_limit = 52          # concurrent requests before 429 0x80072326
    state.max_in_flight                   # the most Web API requests seen in flight at once
    state.repeat_next_link = True         # a broken service: nextLinks and FetchXML paging
                                          # cookies stop advancing
    state.add_activity_table("new_emailevent")
    state.wait_for_webhooks(10.0)         # webhook posts for registered steps (webhooks.py);
    state.webhooks.hold() / .release()    # edits through the state are CRM_USER_ID's
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.clock import Clock, system_clock
from sandbox.counters import Counters
from sandbox.dataverse.connector_schema import install as install_connector
from sandbox.dataverse.connector_schema import install_metadata as install_connector_metadata
from sandbox.dataverse.custom_tables import custom_tables
from sandbox.dataverse.generator import ListSpec, SeedResult
from sandbox.dataverse.generator import seed as seed_rows
from sandbox.dataverse.odata import ODataError
from sandbox.dataverse.plugin_registration import registration_tables, seed_messages
from sandbox.dataverse.records import Records
from sandbox.dataverse.schema import TableDef, activity_table, standard_tables
from sandbox.dataverse.seed import ENTITIES
from sandbox.dataverse.solutions import seed_solutions, solution_tables
from sandbox.dataverse.store import Membership, Table
from sandbox.dataverse.systemusers import SYSTEMUSER, seed_users
from sandbox.dataverse.webhooks import CRM_USER_ID, Webhooks
from sandbox.faults import Faults, RateWindow

DEMO_TENANT_ID = "00000000-0000-4000-8000-0000000000d0"
DEMO_CLIENT_ID = "00000000-0000-4000-8000-0000000000c1"
DEMO_CLIENT_SECRET = "demo-client-secret"

ENGLISH = 1033
_IDS = uuid.UUID("6f2d0c7e-58a4-4c1b-9d51-0e6a4f3b7c21")  # namespace for deterministic ids

# AttributeType -> (derived metadata type, AttributeTypeName value)
_TYPES: dict[str, tuple[str, str]] = {
    "BigInt": ("BigIntAttributeMetadata", "BigIntType"),
    "Boolean": ("BooleanAttributeMetadata", "BooleanType"),
    "Customer": ("LookupAttributeMetadata", "CustomerType"),
    "DateTime": ("DateTimeAttributeMetadata", "DateTimeType"),
    "Decimal": ("DecimalAttributeMetadata", "DecimalType"),
    "Double": ("DoubleAttributeMetadata", "DoubleType"),
    "EntityName": ("EntityNameAttributeMetadata", "EntityNameType"),
    "Integer": ("IntegerAttributeMetadata", "IntegerType"),
    "Lookup": ("LookupAttributeMetadata", "LookupType"),
    "Memo": ("MemoAttributeMetadata", "MemoType"),
    "Money": ("MoneyAttributeMetadata", "MoneyType"),
    "Owner": ("LookupAttributeMetadata", "OwnerType"),
    "Picklist": ("PicklistAttributeMetadata", "PicklistType"),
    "State": ("StateAttributeMetadata", "StateType"),
    "Status": ("StatusAttributeMetadata", "StatusType"),
    "String": ("StringAttributeMetadata", "StringType"),
    "Uniqueidentifier": ("UniqueIdentifierAttributeMetadata", "UniqueidentifierType"),
    "Virtual": ("ImageAttributeMetadata", "ImageType"),
}

# Properties the sandbox can $select on an attribute (MetadataId is always returned).
ATTRIBUTE_PROPERTIES = (
    "LogicalName",
    "SchemaName",
    "EntityLogicalName",
    "AttributeType",
    "AttributeTypeName",
    "AttributeOf",
    "IsCustomAttribute",
    "DisplayName",
)


def deterministic_id(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "/".join(parts)))


@dataclass
class AttributeDef:
    """One column's metadata. Mutable: tests rename labels or add columns."""

    entity: str
    logical_name: str
    attribute_type: str
    labels: dict[int, str] = field(default_factory=dict)  # LanguageCode -> label
    attribute_of: str | None = None
    is_custom: bool = False
    schema_name: str | None = None
    metadata_id: str = ""
    targets: tuple[str, ...] = ()  # lookups: the tables the column can point to

    def __post_init__(self) -> None:
        if not self.metadata_id:
            self.metadata_id = deterministic_id(self.entity, self.logical_name)
        if self.schema_name is None:
            self.schema_name = self.logical_name.capitalize()

    @property
    def display_name(self) -> str | None:
        return self.labels.get(ENGLISH)

    def label_id(self, language: int) -> str:
        return deterministic_id(self.entity, self.logical_name, "DisplayName", str(language))

    def to_json(self, select: tuple[str, ...], user_language: int) -> dict[str, Any]:
        odata_type, type_name = _TYPES.get(self.attribute_type, ("AttributeMetadata", ""))
        localized = [
            {
                "Label": label,
                "LanguageCode": language,
                "IsManaged": not self.is_custom,
                "MetadataId": self.label_id(language),
                "HasChanged": None,
            }
            for language, label in sorted(self.labels.items())
        ]
        user_label = next((lab for lab in localized if lab["LanguageCode"] == user_language), None)
        values: dict[str, Any] = {
            "LogicalName": self.logical_name,
            "SchemaName": self.schema_name,
            "EntityLogicalName": self.entity,
            "AttributeType": self.attribute_type,
            "AttributeTypeName": {"Value": type_name},
            "AttributeOf": self.attribute_of,
            "IsCustomAttribute": self.is_custom,
            "DisplayName": {
                "LocalizedLabels": localized,
                "UserLocalizedLabel": dict(user_label) if user_label else None,
            },
        }
        body: dict[str, Any] = {"@odata.type": f"#Microsoft.Dynamics.CRM.{odata_type}"}
        for name in select or ATTRIBUTE_PROPERTIES:
            if name != "MetadataId":  # always returned, last
                body[name] = values[name]
        body["MetadataId"] = self.metadata_id
        return body


LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
# What the standard lookup columns point to (the LookupAttributeMetadata `Targets`).
LOOKUP_TARGETS: dict[str, tuple[str, ...]] = {
    "parentcustomerid": ("account", "contact"),
    "customerid": ("account", "contact"),
    "ownerid": ("systemuser", "team"),
    "transactioncurrencyid": ("transactioncurrency",),
    "parentcontactid": ("contact",),
    "parentaccountid": ("account",),
    "primarycontactid": ("contact",),
    "createdby": ("systemuser",),
    "modifiedby": ("systemuser",),
    "new_contactid": ("contact",),  # new_loyaltycard's contact (sandbox/dataverse/custom_tables)
}


def seed_attributes() -> dict[str, list[AttributeDef]]:
    return {
        entity: [
            AttributeDef(
                entity=entity,
                logical_name=logical,
                attribute_type=attribute_type,
                labels={ENGLISH: label} if label else {},
                attribute_of=attribute_of,
                targets=LOOKUP_TARGETS.get(logical, ()) if attribute_type in LOOKUP_TYPES else (),
            )
            for logical, attribute_type, label, attribute_of in rows
        ]
        for entity, rows in ENTITIES.items()
    }


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str


@dataclass
class IssuedToken:
    value: str
    client_id: str
    resource: str
    expires_at: float
    revoked: bool = False


@dataclass(frozen=True)
class Throttle:
    retry_after: int
    as_http_date: bool


class DataverseState:
    """Everything the Dataverse sandbox knows. `reset()` returns to the seeded start."""

    def __init__(
        self,
        *,
        tenant_id: str = DEMO_TENANT_ID,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        seed: int = 0,
        clock: Clock = system_clock,
    ) -> None:
        self._lock = threading.RLock()
        self._default_app = RegisteredApp(client_id, client_secret)
        self.tenant_id = tenant_id
        self.seed = seed
        self.clock: Clock = clock
        self.counters = Counters()
        self.faults = Faults(seed)
        self.webhooks = Webhooks(self)  # before reset(): seeding writes rows
        self.reset()

    def reset(
        self,
        *,
        seed: int | None = None,
        clock: Clock | None = None,
        connector_solution: bool = True,
    ) -> None:
        """Back to the seed: demo app only, no tokens, seeded metadata, no faults, no counts.
        `connector_solution=False`: a bare org, without the connector's tables and columns
        (what `python -m shared dataverse provision` starts from)."""
        with self._lock:
            if seed is not None:
                self.seed = seed
            if clock is not None:
                self.clock = clock
            self.apps: dict[str, RegisteredApp] = {self._default_app.client_id: self._default_app}
            self.application_users: set[str] = {self._default_app.client_id}
            self.tokens: dict[str, IssuedToken] = {}
            self.token_lifetime_seconds = 3599
            self.reject_all_tokens = False
            self.user_language = ENGLISH
            self.attributes: dict[str, list[AttributeDef]] = seed_attributes()
            self.request_budget: RateWindow | None = None
            self.fixed_retry_after: int | None = None
            self._throttles: list[Throttle] = []
            self.rng = random.Random(self.seed)
            self.faults.reset(self.seed)
            self.counters.reset()
            self.webhooks.reset()
            # Rows and change tracking.
            definitions = {
                **standard_tables(),
                **custom_tables(),
                **solution_tables(),
                **registration_tables(),
            }
            definitions["systemuser"] = replace(SYSTEMUSER, columns=dict(SYSTEMUSER.columns))
            # Who the rows being created are created by (`createdby`): the CRM user for edits
            # through the state, a request's caller while the Web API answers it.
            self.acting_user = CRM_USER_ID
            if connector_solution:
                install_connector(definitions)
            self.tables: dict[str, Table] = {
                name: Table(definition) for name, definition in definitions.items()
            }
            # Metadata writes (metadata_writes.py): choices, relationships, solution contents.
            self.option_sets: dict[tuple[str, str], list[tuple[int, str]]] = {}
            self.relationships: dict[str, dict[str, Any]] = {}
            self.solution_components: dict[str, list[tuple[str, str]]] = {}
            self.deny_customization = False  # True: the app user lacks System Customizer
            self.membership = Membership()
            self._version = 1_000_000  # rowversion values are large numbers in real orgs
            self.min_delta_version = 0
            self.change_tracking_days = 30
            self.repeat_next_link = False
            # Concurrent-request limit (service protection).
            self.concurrency_limit = 52
            self.concurrency_retry_after = 1
            self.in_flight = 0
            self.max_in_flight = 0
            self.concurrency_rejections = 0
            seed_solutions(self, connector=connector_solution)
            if connector_solution:
                install_connector_metadata(self)
            seed_messages(self)
            seed_users(self)

    def now(self) -> float:
        return self.clock()

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # Identity ---------------------------------------------------------------------------------

    def first_app_user_id(self) -> str:
        """The systemuserid of the first application user (errors that cannot tell callers
        apart name this one)."""
        return deterministic_id(self.tenant_id, "systemuser", min(self.application_users))

    def register_app(
        self, client_id: str, client_secret: str, *, application_user: bool = True
    ) -> RegisteredApp:
        with self._lock:
            app = RegisteredApp(client_id, client_secret)
            self.apps[client_id] = app
            if application_user:
                self.application_users.add(client_id)
            return app

    def issue_token(self, client_id: str, resource: str) -> IssuedToken:
        with self._lock:
            token = IssuedToken(
                value=secrets.token_urlsafe(32),
                client_id=client_id,
                resource=resource.rstrip("/"),
                expires_at=self.now() + self.token_lifetime_seconds,
            )
            self.tokens[token.value] = token
            return token

    def valid_token(self, value: str, resource: str) -> IssuedToken | None:
        with self._lock:
            token = self.tokens.get(value)
            if (
                token is None
                or token.revoked
                or self.reject_all_tokens
                or token.expires_at <= self.now()
                or token.resource != resource.rstrip("/")
            ):
                return None
            return token

    def revoke_all_tokens(self) -> int:
        """Invalidate every token issued so far (new ones are accepted); returns how many."""
        with self._lock:
            live = [token for token in self.tokens.values() if not token.revoked]
            for token in live:
                token.revoked = True
            return len(live)

    @property
    def organization_id(self) -> str:
        """The org's id, as WhoAmI and webhooks report it (name-based, stable per tenant)."""
        return deterministic_id(self.tenant_id, "organization")

    @property
    def business_unit_id(self) -> str:
        return deterministic_id(self.tenant_id, "businessunit")

    def trace_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # Metadata -----------------------------------------------------------------------------

    def attribute(self, entity: str, logical_name: str) -> AttributeDef:
        for attribute in self.attributes[entity]:
            if attribute.logical_name == logical_name:
                return attribute
        raise KeyError(f"{entity}.{logical_name}")

    def add_attribute(
        self,
        entity: str,
        logical_name: str,
        attribute_type: str,
        display_name: str | None = None,
        *,
        is_custom: bool = True,
        attribute_of: str | None = None,
    ) -> AttributeDef:
        attribute = AttributeDef(
            entity=entity,
            logical_name=logical_name,
            attribute_type=attribute_type,
            labels={ENGLISH: display_name} if display_name else {},
            attribute_of=attribute_of,
            is_custom=is_custom,
        )
        with self._lock:
            self.attributes.setdefault(entity, []).append(attribute)
        return attribute

    def set_display_name(
        self, entity: str, logical_name: str, label: str | None, *, language: int = ENGLISH
    ) -> None:
        attribute = self.attribute(entity, logical_name)
        with self._lock:
            if label is None:
                attribute.labels.pop(language, None)
            else:
                attribute.labels[language] = label

    # Service protection ---------------------------------------------------------------------

    def set_request_budget(self, limit: int | None, window_seconds: float = 300.0) -> None:
        """Allow `limit` Web API requests per window (None: unlimited); then 429 + Retry-After."""
        with self._lock:
            self.request_budget = (
                None if limit is None else RateWindow(limit, window_seconds, lambda: self.now())
            )

    def throttle_next(
        self, count: int = 1, *, retry_after: int = 1, as_http_date: bool = False
    ) -> None:
        """Answer the next `count` authenticated Web API requests with 429."""
        with self._lock:
            self._throttles.extend(Throttle(retry_after, as_http_date) for _ in range(count))

    def service_protection(self) -> tuple[str, int | None] | None:
        """None if the request may run, else (Retry-After header value, remaining budget)."""
        with self._lock:
            if self._throttles:
                throttle = self._throttles.pop(0)
                if throttle.as_http_date:
                    when = self.now() + throttle.retry_after
                    return email.utils.formatdate(when, usegmt=True), None
                return str(throttle.retry_after), None
            budget = self.request_budget
            if budget is None or budget.try_consume():
                return None
            seconds = self.fixed_retry_after or budget.seconds_until_reset()
            return str(seconds), 0

    def remaining_budget(self) -> int | None:
        return None if self.request_budget is None else self.request_budget.remaining

    # Concurrency ----------------------------------------------------------------------------

    def enter_request(self) -> bool:
        """Count a Web API request in flight; False (and nothing counted) past the limit."""
        with self._lock:
            if self.in_flight >= self.concurrency_limit:
                self.concurrency_rejections += 1
                return False
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return True

    def leave_request(self) -> None:
        with self._lock:
            self.in_flight -= 1

    # Rows -----------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The latest row version handed out (organization-wide, like SQL rowversion)."""
        return self._version

    def next_version(self) -> int:
        with self._lock:
            self._version += 1
            return self._version

    def table(self, logical_name: str) -> Table:
        return self.tables[logical_name]

    def seed_data(
        self,
        *,
        contacts: int = 0,
        leads: int = 0,
        accounts: int = 0,
        lists: Sequence[ListSpec | tuple[str, str, int]] = (),
        disqualified_share: float = 0.2,
        seed: int | None = None,
    ) -> SeedResult:
        """Add realistic rows from a seeded RNG (the state's seed unless given): accounts,
        contacts (60% with a parent account), leads (`disqualified_share` disqualified, 10%
        qualified), and marketing lists `(name, member_type, size)` or `ListSpec`s."""
        with self._lock:
            return seed_rows(
                self,
                contacts=contacts,
                leads=leads,
                accounts=accounts,
                lists=lists,
                disqualified_share=disqualified_share,
                seed=self.seed if seed is None else seed,
            )

    def insert(self, logical_name: str, values: Mapping[str, Any]) -> str:
        """Create a row as the Web API would (validation, defaults, new version); its id.
        Edits through the state are a CRM user's (`CRM_USER_ID`) and post webhooks."""
        with self._lock, self._as_crm_user():
            return Records(self).create(self.tables[logical_name], values).id

    def update(self, logical_name: str, row_id: str, values: Mapping[str, Any]) -> None:
        with self._lock, self._as_crm_user():
            table = self.tables[logical_name]
            row = table.get(row_id)
            if row is None:
                raise KeyError(f"{logical_name}({row_id})")
            Records(self).update(table, row, values)

    def delete(self, logical_name: str, row_id: str) -> None:
        with self._lock, self._as_crm_user():
            table = self.tables[logical_name]
            row = table.get(row_id)
            if row is None:
                raise KeyError(f"{logical_name}({row_id})")
            Records(self).delete(table, row)

    def row(self, logical_name: str, row_id: str) -> dict[str, Any] | None:
        """A row as the Web API returns it (all columns, `@odata.etag`), or None."""
        with self._lock:
            table = self.tables[logical_name]
            found = table.get(row_id)
            if found is None:
                return None
            definition = table.definition
            return Records(self).serialize(definition, found, definition.readable())

    def list_members(self, list_id: str) -> list[str]:
        with self._lock:
            return self.membership.member_ids(list_id.lower())

    def add_list_member(self, list_id: str, member_id: str) -> str:
        with self._lock, self._as_crm_user():
            list_row = self.tables["list"].get(list_id)
            if list_row is None:
                raise KeyError(f"list({list_id})")
            try:
                return Records(self).add_member(list_row, member_id)[0]
            except ODataError as error:
                raise ValueError(error.message) from None

    def remove_list_member(self, list_id: str, member_id: str) -> bool:
        """Take a member off a static list; False if it was not on it."""
        with self._lock, self._as_crm_user():
            list_row = self.tables["list"].get(list_id)
            if list_row is None:
                raise KeyError(f"list({list_id})")
            return Records(self).remove_member(list_row, member_id)

    @contextlib.contextmanager
    def _as_crm_user(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.webhooks.commit(CRM_USER_ID)

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """True once every webhook post queued so far has been made (see webhooks.py)."""
        return self.webhooks.wait(timeout)

    def expire_change_tokens(self) -> None:
        """Every delta link issued so far is answered as expired; new ones work."""
        with self._lock:
            self._version += 1
            self.min_delta_version = self._version

    def set_change_tracking(self, logical_name: str, enabled: bool) -> None:
        with self._lock:
            self.tables[logical_name].definition.change_tracking = enabled

    def add_activity_table(self, logical_name: str, entity_set: str | None = None) -> TableDef:
        """A custom activity table (e.g. `new_emailevent`) with the usual regarding lookups."""
        definition = activity_table(logical_name, entity_set)
        with self._lock:
            self.tables[logical_name] = Table(definition)
        return definition
