"""Typed reads of what ACS answers: profiles (the `blackList*` "no longer contact by" fields,
CCPA, their per-attribute `*LastModified` times, empty dates as ""), a write's `{PKey, href}`,
a page of a collection, a workflow and its signal activities.

The technical names are `blackList*`; the Dynamics integration's pages call them `denyList*`.
`technical_names()` turns either spelling into the names the API takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

OPT_OUT_FIELDS = (
    "blackList",
    "blackListEmail",
    "blackListFax",
    "blackListMobile",
    "blackListPhone",
    "blackListPostalMail",
    "blackListPushnotification",
    "ccpaOptOut",
)
_ALIASES = {"denyList" + name.removeprefix("blackList"): name for name in OPT_OUT_FIELDS[:-1]}


def technical_names(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with `denyList*` keys renamed to the API's `blackList*` ones."""
    return {_ALIASES.get(key, key): value for key, value in values.items()}


def _timestamp(value: Any) -> Any:
    """ACS times (`2026-11-28 09:15:02.123Z`, or ISO), "" as None."""
    if value in ("", None):
        return None
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1).replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def _day(value: Any) -> Any:
    if value in ("", None):
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
Day = Annotated[date | None, BeforeValidator(_day)]


class Profile(BaseModel):
    """A profile as `/profileAndServices(Ext)/profile` answers it; fields the model does not
    name (extensions, custom keys) stay readable through `model_extra`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    pkey: str = Field(alias="PKey")
    href: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    external_id: str = ""
    phone: str = ""
    mobile_phone: str = ""
    fax: str = ""
    gender: str = "unknown"
    birth_date: Day = None
    black_list: bool = False
    black_list_email: bool = False
    black_list_fax: bool = False
    black_list_mobile: bool = False
    black_list_phone: bool = False
    black_list_postal_mail: bool = False
    black_list_pushnotification: bool = False
    ccpa_opt_out: bool = False
    black_list_last_modified: Timestamp = None
    black_list_all_last_modified: Timestamp = None
    black_list_email_last_modified: Timestamp = None
    black_list_fax_last_modified: Timestamp = None
    black_list_mobile_last_modified: Timestamp = None
    black_list_phone_last_modified: Timestamp = None
    black_list_postal_mail_last_modified: Timestamp = None
    ccpa_opt_out_last_modified: Timestamp = None
    created: Timestamp = None
    last_modified: Timestamp = None

    def opt_out(self, field: str) -> tuple[bool, datetime | None]:
        """An opt-out field (technical or `denyList*` name): its value and when it changed."""
        name = _ALIASES.get(field, field)
        if name not in OPT_OUT_FIELDS:
            raise ValueError(f"{field} is not one of Campaign's opt-out fields")
        raw = self.model_dump(by_alias=True)
        changed = raw.get(name + "LastModified")
        if name == "blackList":
            changed = raw.get("blackListLastModified") or raw.get("blackListAllLastModified")
        return bool(raw.get(name)), changed


class Written(BaseModel):
    """What PATCH answers (and what a create reduces to): the record's PKey and its href."""

    pkey: str = Field(alias="PKey")
    href: str


@dataclass(frozen=True)
class ResourcePage:
    """One page of a collection. `next_href` (opaque, under the base URL) reads the next page;
    keep it in a run's cursor to resume there. None: the last page."""

    items: list[dict[str, Any]]
    next_href: str | None
    count_href: str | None
    server_side_pagination: bool = False


class SignalActivity(BaseModel):
    name: str
    trigger_href: str


class WorkflowInfo(BaseModel):
    id: str
    label: str = ""
    state: str = ""
    href: str = ""
    signals: list[SignalActivity] = []

    def signal(self, name: str) -> SignalActivity | None:
        return next((s for s in self.signals if s.name == name), None)
