"""What the connector registers in Dynamics for its webhook, as data: one service endpoint and
the asynchronous post-operation steps (message, table, filtering attributes, image) whose
changes the sync types act on. `webhook_registration` compares it with the org and applies it.

Filtering attributes of contact, lead and account are the columns the event recorder watches
(`shared.webhooks.targets.watched_columns` over every account's mappings: the state, the email
column and every mapped column; for Adobe Campaign accounts, the columns ingress reads and, on
contact, the Booleans an OptOut run sends to Campaign), so Dynamics posts exactly the updates
that become targets. A
linked field's change on the linked record (an account's name shown on its contacts) is left
to the scheduled syncs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from shared.clients.dataverse.plugin_registration import (
    AUTH_HTTP_HEADER,
    AUTH_HTTP_QUERY_STRING,
    AUTH_WEBHOOK_KEY,
    IMAGE_POST,
    IMAGE_PRE,
    NO_TABLE,
    settings_auth_value,
)
from shared.dynamics_schema import EMAIL_SUPPRESSION
from shared.dynamics_schema.engagement import EMAIL_SEND, PROGRAM_ENROLMENT
from shared.errors import BadInputError
from shared.mappings.model import EMAIL_LABEL, DataMapping, MappedEntity
from shared.webhooks.targets import (
    DEFAULT_EMAIL_COLUMN,
    LIST_COLUMNS,
    REQUEST_RESUBSCRIBE,
    watched_columns,
)

ENDPOINT_NAME = "Dynamics Marketing Sync"
STEP_PREFIX = f"{ENDPOINT_NAME}: "
# The function key's name in Azure and the header the Functions host reads it from.
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"

SUPPRESSION = EMAIL_SUPPRESSION.logical_name
SUPPRESSION_IMAGE = ("dms_email", "dms_emailaccountid", REQUEST_RESUBSCRIBE)


class AuthOption(StrEnum):
    """How Dataverse presents the key (register-web-hook.md, "Authentication options")."""

    WEBHOOK_KEY = "webhook-key"
    HTTP_HEADER = "http-header"
    HTTP_QUERY_STRING = "http-query-string"

    @property
    def auth_type(self) -> int:
        return _AUTH_TYPES[self]

    @property
    def label(self) -> str:
        """The name Dataverse and the WebhookRegistrations row use."""
        return _LABELS[self]

    def auth_value(self, key: str) -> str:
        if self is AuthOption.WEBHOOK_KEY:
            return key  # Dataverse adds ?code=<key> itself
        name = KEY_HEADER if self is AuthOption.HTTP_HEADER else KEY_QUERY
        return settings_auth_value(name, key)

    @classmethod
    def of_auth_type(cls, auth_type: int) -> AuthOption | None:
        return next((option for option in cls if option.auth_type == auth_type), None)


_AUTH_TYPES = {
    AuthOption.WEBHOOK_KEY: AUTH_WEBHOOK_KEY,
    AuthOption.HTTP_HEADER: AUTH_HTTP_HEADER,
    AuthOption.HTTP_QUERY_STRING: AUTH_HTTP_QUERY_STRING,
}
_LABELS = {
    AuthOption.WEBHOOK_KEY: "WebhookKey",
    AuthOption.HTTP_HEADER: "HttpHeader",
    AuthOption.HTTP_QUERY_STRING: "HttpQueryString",
}


def key_check(key: str) -> str:
    """A short fingerprint of the key, kept in the endpoint's description: `authvalue` cannot
    be read back, so this is how a later run tells whether the key changed. 48 bits of a hash
    of a random function key give nothing usable to someone who can read the description."""
    return hashlib.sha256(f"dynamics-marketing-sync/webhook-key/{key}".encode()).hexdigest()[:12]


def description(key: str) -> str:
    return (
        "Posts Dynamics changes to the Dynamics Marketing Sync connector "
        f"(python -m shared webhooks register). Key check {key_check(key)}."
    )


def check_url(url: str) -> str:
    """The function URL Dataverse posts to: http(s), a host, and never the key."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadInputError(
            f"--url must be the webhook function's http(s) URL, e.g. "
            f"https://<app>.azurewebsites.net/api/dynamics/webhook; got {url!r}"
        )
    if any(name.lower() == KEY_QUERY for name, _ in parse_qsl(parts.query)):
        # Never echo the URL back: it carries the key.
        raise BadInputError(
            "--url carries code=...: give the URL without the key; the key comes from the "
            "DYNAMICS_WEBHOOK_KEY setting and Dataverse adds it to each post"
        )
    return url.strip()


@dataclass(frozen=True)
class ImagePlan:
    image_type: int  # IMAGE_PRE or IMAGE_POST
    attributes: tuple[str, ...]

    @property
    def alias(self) -> str:
        return "PreImage" if self.image_type == IMAGE_PRE else "PostImage"


@dataclass(frozen=True)
class StepPlan:
    message: str
    table: str  # NO_TABLE for Associate / Disassociate
    filtering: tuple[str, ...] = ()  # Update only; empty: every change of the table
    image: ImagePlan | None = None

    @property
    def name(self) -> str:
        if self.table == NO_TABLE:
            return f"{STEP_PREFIX}{self.message}"
        return f"{STEP_PREFIX}{self.message} of {self.table}"

    @property
    def what(self) -> str:
        """How progress lines name the step."""
        return self.name.removeprefix(STEP_PREFIX)

    @property
    def details(self) -> str:
        parts = ["asynchronous, post-operation"]
        if self.filtering:
            parts.append(f"filtering attributes {','.join(self.filtering)}")
        if self.image is not None:
            parts.append(f"{self.image.alias} {','.join(self.image.attributes)}")
        return "; ".join(parts)


def _sorted(*groups: str | Iterable[str]) -> tuple[str, ...]:
    names: set[str] = set()
    for group in groups:
        if isinstance(group, str):
            names.add(group)
        else:
            names.update(group)
    return tuple(sorted(names))


def member_columns(mappings: list[list[DataMapping]], entity: MappedEntity) -> tuple[str, ...]:
    """The columns whose change becomes an event for this entity, over every account's
    mappings (`mappings`: one list per account)."""
    if not mappings:
        return _sorted(watched_columns([], entity))
    return _sorted(*(watched_columns(account, entity) for account in mappings))


def _email_columns(mappings: list[list[DataMapping]], entity: MappedEntity) -> tuple[str, ...]:
    columns = {DEFAULT_EMAIL_COLUMN}
    for account in mappings:
        columns.update(
            m.primary_field
            for m in account
            if m.entity is entity and m.label.upper() == EMAIL_LABEL
        )
    return _sorted(columns)


def planned_steps(
    mappings: list[list[DataMapping]],
    ingress: Mapping[str, frozenset[str]] | None = None,
    opt_out: Iterable[str] = (),
) -> list[StepPlan]:
    """The steps in the order they are registered; `mappings` holds each account's list,
    `ingress` the tables Adobe Campaign accounts map, with the columns their ingress reads,
    `opt_out` the contact Booleans whose change starts an OptOut run."""
    ingress = ingress or {}
    steps: list[StepPlan] = []
    for entity in MappedEntity:
        opt_outs = opt_out if entity is MappedEntity.CONTACT else ()
        columns = _sorted(member_columns(mappings, entity), ingress.get(entity.value, ()), opt_outs)
        email_columns = _email_columns(mappings, entity)
        steps.append(StepPlan("Update", entity.value, columns, ImagePlan(IMAGE_POST, columns)))
        # A deleted member leaves its lists: the email (gone with the record) comes in the
        # pre-image.
        steps.append(StepPlan("Delete", entity.value, (), ImagePlan(IMAGE_PRE, email_columns)))
    list_columns = _sorted(LIST_COLUMNS)
    steps.append(StepPlan("Update", "list", list_columns, ImagePlan(IMAGE_POST, list_columns)))
    # List memberships (listcontact_association, ...): these messages have no table filter.
    steps.append(StepPlan("Associate", NO_TABLE))
    steps.append(StepPlan("Disassociate", NO_TABLE))
    steps.append(StepPlan("Create", SUPPRESSION))
    steps.append(
        StepPlan(
            "Update",
            SUPPRESSION,
            (REQUEST_RESUBSCRIBE,),
            ImagePlan(IMAGE_POST, _sorted(SUPPRESSION_IMAGE)),
        )
    )
    # A CRM user's new Email Send starts its account's EmailSends run (the Create carries the
    # row's columns, its email account among them).
    steps.append(StepPlan("Create", EMAIL_SEND.logical_name))
    # A CRM user's enrolment request (the Create's target carries its account column).
    steps.append(StepPlan("Create", PROGRAM_ENROLMENT.logical_name))
    # Adobe ingress: a new record of a mapped table, a change of a column it reads, a delete,
    # each starts the account's ingress run (contact, lead and account have Update and
    # Delete steps above already).
    members = {entity.value for entity in MappedEntity}
    for table, read in sorted(ingress.items()):
        steps.append(StepPlan("Create", table))
        if table not in members:
            steps.append(StepPlan("Update", table, _sorted(read)))
            steps.append(StepPlan("Delete", table))
    return steps
