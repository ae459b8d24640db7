"""The per-account Adobe Campaign Standard configuration, as an administrator sets it: ingress
table and field mappings (with replacements, filters and the advanced switches), the opt-out
mode and its attribute mapping, and the egress switches (event types, follow-up tasks)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, Field

# A Dynamics column as a mapping names it: a logical name, or a path through at most two
# lookups (`parentcustomerid.name`, `parentcustomerid.primarycontactid.fullname`).
DYNAMICS_PATH = r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$"
DYNAMICS_NAME = r"^[a-z_][a-z0-9_]*$"
# Campaign technical names are camelCase (`externalId`, `cusLoyaltyCard`).
CAMPAIGN_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

PROFILE = "profile"  # the profile resource (/profileAndServicesExt/profile)
PROFILE_TABLE = "contact"  # the one Dynamics table mapped to profiles
PROFILE_KEY = "externalId"  # the profile's CRM ID key, holding the contactid
CUSTOM_PREFIX = "cus"  # every custom resource's technical name starts with it


class FieldMapping(BaseModel):
    """One Dynamics column (or linked column) written to one Campaign field."""

    dynamics_field: str = Field(pattern=DYNAMICS_PATH, max_length=200)
    campaign_field: str = Field(pattern=CAMPAIGN_NAME, max_length=100)
    # Off: written only by the initial load or a replay, never by an incremental change.
    apply_updates: bool = True

    @property
    def link_depth(self) -> int:
        return self.dynamics_field.count(".")


class Replacement(BaseModel):
    """A value of a mapped Dynamics field sent to Campaign as another value ("F" -> "1")."""

    dynamics_field: str = Field(pattern=DYNAMICS_PATH, max_length=200)
    value: str = Field(max_length=4000)
    new_value: str = Field(max_length=4000)


class Comparison(StrEnum):
    """The filter comparisons. Adobe's app does not document its operators (they appear in a
    screenshot only); this is the connector's own small set."""

    EQUALS = "equals"
    NOT_EQUALS = "not-equals"
    CONTAINS = "contains"
    STARTS_WITH = "starts-with"
    GREATER_THAN = "greater-than"
    LESS_THAN = "less-than"
    IS_EMPTY = "is-empty"
    IS_NOT_EMPTY = "is-not-empty"

    @property
    def takes_value(self) -> bool:
        return self not in (Comparison.IS_EMPTY, Comparison.IS_NOT_EMPTY)


class Join(StrEnum):
    AND = "And"
    OR = "Or"


class FilterRule(BaseModel):
    dynamics_field: str = Field(pattern=DYNAMICS_NAME, max_length=100)
    comparison: Comparison
    value: str = Field(default="", max_length=4000)


class RecordFilter(BaseModel):
    """Which records sync: every rule joined by one And/Or; no rule, every record."""

    rules: list[FilterRule] = Field(default_factory=list)
    join: Join = Join.AND
    # Yes: a record that no longer passes is deleted in Campaign; No: it is left as it was.
    delete_filtered_out: bool = False


class TableMapping(BaseModel):
    """One Dynamics table -> one Campaign resource. The tables are fixed once saved (remove
    the mapping and add it again to change them); everything else can change."""

    dynamics_table: str = Field(pattern=DYNAMICS_NAME, max_length=100)
    campaign_resource: str = Field(pattern=CAMPAIGN_NAME, max_length=100)
    # The Campaign column that holds the Dynamics primary key (a "CRM ID" identification key).
    campaign_key: str = Field(pattern=CAMPAIGN_NAME, max_length=100)
    fields: list[FieldMapping] = Field(default_factory=list)
    replacements: list[Replacement] = Field(default_factory=list)
    filter: RecordFilter = Field(default_factory=RecordFilter)
    apply_deletes: bool = False  # "Apply deletes in Dynamics to Campaign?" (off by default)
    technical_picklist_values: bool = False  # Yes: a choice's value; No: its label

    def field_to(self, campaign_field: str) -> FieldMapping | None:
        return next((f for f in self.fields if f.campaign_field == campaign_field), None)


class OptOutMode(StrEnum):
    DISABLED = "Disabled"
    DYNAMICS_TO_CAMPAIGN = "DynamicsToCampaign"
    CAMPAIGN_TO_DYNAMICS = "CampaignToDynamics"
    BIDIRECTIONAL = "Bidirectional"


class CampaignOptOut(StrEnum):
    """Campaign's fixed opt-out attributes by their technical names (`blackList*`); the
    Dynamics integration's pages call them `denyList*`, accepted as aliases."""

    BLACKLIST = "blackList"
    EMAIL = "blackListEmail"
    MOBILE = "blackListMobile"
    PHONE = "blackListPhone"
    POSTAL_MAIL = "blackListPostalMail"
    FAX = "blackListFax"
    PUSH_NOTIFICATION = "blackListPushnotification"
    CCPA = "ccpaOptOut"

    @classmethod
    def parse(cls, text: str) -> CampaignOptOut:
        """`blackListEmail` or its alias `denyListEmail` (any case)."""
        wanted = text.strip().lower()
        if wanted.startswith("denylist"):
            wanted = "blacklist" + wanted.removeprefix("denylist")
        for member in cls:
            if member.value.lower() == wanted:
                return member
        raise ValueError(
            f"'{text}' is not a Campaign opt-out attribute; use one of "
            + ", ".join(m.value for m in cls)
            + " (or denyList... for blackList...)."
        )

    @property
    def last_modified(self) -> str:
        """The profile's attribute-level change time (`blackListEmailLastModified`)."""
        return f"{self.value}LastModified"


def _campaign_opt_out(value: object) -> object:
    return CampaignOptOut.parse(value) if isinstance(value, str) else value


class OptOutPair(BaseModel):
    campaign_attribute: Annotated[CampaignOptOut, BeforeValidator(_campaign_opt_out)]
    dynamics_field: str = Field(pattern=DYNAMICS_NAME, max_length=100)  # a Boolean of contact


def default_opt_out_pairs() -> list[OptOutPair]:
    return [
        OptOutPair(campaign_attribute=CampaignOptOut.EMAIL, dynamics_field="donotbulkemail"),
        OptOutPair(campaign_attribute=CampaignOptOut.PHONE, dynamics_field="donotphone"),
    ]


class OptOutSettings(BaseModel):
    mode: OptOutMode = OptOutMode.DISABLED
    pairs: list[OptOutPair] = Field(default_factory=default_opt_out_pairs)


def _journal_url(value: object) -> object:
    """Empty, or a plain https URL: the Campaign credential's token is sent there."""
    if not isinstance(value, str) or not value:
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            "the journaling endpoint is an https URL, e.g. https://events.adobe.io/events/"
            "organizations/<consumer>/integrations/<credential>/<registration id>"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the journaling endpoint must not carry a user, a query or a fragment")
    return value.rstrip("/")


class EgressSettings(BaseModel):
    """Which Campaign email events become timeline activities, and the follow-up tasks; and
    where the events are read: the Adobe I/O Events journaling endpoint of the event
    registration (Developer Console) and the organization's IMS id (`...@AdobeOrg`)."""

    journal_url: Annotated[str, BeforeValidator(_journal_url)] = Field(default="", max_length=500)
    ims_org_id: str = Field(default="", pattern=r"^([A-Za-z0-9]{1,64}@AdobeOrg)?$")
    send: bool = True
    open: bool = True
    click: bool = True
    bounce: bool = True  # hard bounces only
    click_task: bool = True  # a follow-up task with a due date on each URL click
    click_task_due_days: int = Field(default=1, ge=0, le=365)
    bounce_task: bool = True  # a "reconcile the invalid email address" task on each bounce


class AdobeConfig(BaseModel):
    account_id: str
    tables: list[TableMapping] = Field(default_factory=list)
    opt_out: OptOutSettings = Field(default_factory=OptOutSettings)
    egress: EgressSettings = Field(default_factory=EgressSettings)

    def table(self, dynamics_table: str) -> TableMapping | None:
        return next((t for t in self.tables if t.dynamics_table == dynamics_table), None)


def default_profile_mapping() -> TableMapping:
    """contact -> profile, as Adobe's app starts: externalId holds the contactid."""
    return TableMapping(
        dynamics_table=PROFILE_TABLE,
        campaign_resource=PROFILE,
        campaign_key=PROFILE_KEY,
        fields=[
            FieldMapping(dynamics_field="contactid", campaign_field=PROFILE_KEY),
            FieldMapping(dynamics_field="emailaddress1", campaign_field="email"),
            FieldMapping(dynamics_field="firstname", campaign_field="firstName"),
            FieldMapping(dynamics_field="lastname", campaign_field="lastName"),
        ],
    )
