"""The Campaign side of an Adobe Campaign mapping, checked against Campaign before it is saved:
a custom resource is published (listed by `GET /profileAndServicesExt/`), each mapped field is
a field of its resource (`GET /profileAndServicesExt/resourceType/<resource>`) and its type
fits the Dynamics column's. Without this, a field Campaign lacks is found only when ingress
writes it (500 `XTK-170036` attribute unknown) and every record of the table fails.

When Campaign cannot be reached the change is refused, naming why; `unchecked` (the CLI's
`--unchecked`, the API's `?unchecked=true`) saves without the check, and `check_all` (`adobe
mappings check`) checks the saved mappings later."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel

from shared.accounts import EmailAccount
from shared.clients.adobe import AdobeCampaignClient, ResourceMetadata
from shared.errors import BadInputError, FatalError, NotFoundError, RetriableError
from shared.runtime import Runtime
from shared.service import adobe_dynamics as dynamics
from shared.storage.adobe_config_model import PROFILE, TableMapping
from shared.sync.adobe.field_types import refusal

PUBLISH = (
    "publish it in Campaign (Administration > Development > Publication: Prepare Publication "
    'with "Create the Profiles & Services Ext API" checked, then Publish)'
)
MAX_NAMES = 40


class Checked(BaseModel):
    problems: list[str]  # one line per saved field Campaign would refuse
    message: str


class CampaignUnreachable(RetriableError):
    """Campaign did not answer while a mapping was checked; nothing was saved."""


class CampaignCheckFailed(FatalError):
    """Campaign refused the account's credential or settings while a mapping was checked."""


class ResourceNotPublished(BadInputError):
    """A `cus` resource the extended API does not list (not created, or not published)."""


class UnknownCampaignField(BadInputError):
    """A mapped Campaign field its resource's metadata lacks (or not published yet)."""


class CampaignTypeMismatch(BadInputError):
    """A Dynamics column whose type cannot go into the Campaign field's type."""


@contextmanager
def reaching(account: EmailAccount, what: str) -> Iterator[None]:
    """Client errors said as "could not check", with both ways on."""
    later = (
        f"try again, or save it with --unchecked (API: ?unchecked=true) and run `adobe "
        f"mappings check {account.account_id}` once Campaign answers"
    )
    try:
        yield
    except (BadInputError, NotFoundError):
        raise
    except RetriableError as error:
        raise CampaignUnreachable(
            f"Adobe Campaign could not be reached to check {what}: {_said(error)}; {later}."
        ) from error
    except FatalError as error:
        raise CampaignCheckFailed(
            f"Adobe Campaign could not check {what}: {_said(error)}; fix the account's connection "
            f"(`accounts test {account.account_id}`), or {later.removeprefix('try again, or ')}."
        ) from error


class CampaignFields:
    """One account's Campaign resources, read once per check."""

    def __init__(self, client: AdobeCampaignClient) -> None:
        self._client = client
        self._listed: set[str] | None = None
        self._metadata: dict[str, ResourceMetadata | None] = {}

    def resource(self, resource: str) -> ResourceMetadata:
        if resource != PROFILE:
            if self._listed is None:
                self._listed = self._client.custom_resources()
            if resource not in self._listed:
                listed = ", ".join(sorted(self._listed)) or "none"
                raise ResourceNotPublished(
                    f"Adobe Campaign does not list the custom resource '{resource}' (resources "
                    f"listed: {listed}): custom resources sync once they are published and "
                    f"linked to the profile; create it or {PUBLISH}, then add the mapping again."
                )
        if resource not in self._metadata:
            self._metadata[resource] = self._client.resource_metadata(resource)
        found = self._metadata[resource]
        if found is None:
            raise ResourceNotPublished(
                f"Adobe Campaign has no metadata for '{resource}': {PUBLISH}, then try again."
            )
        return found

    def check_field(
        self, resource: str, campaign_field: str, dynamics_type: str, column: str
    ) -> None:
        metadata = self.resource(resource)
        field = metadata.fields.get(campaign_field)
        where = f"{resource}.{campaign_field}"
        if field is None:
            names = sorted(metadata.fields)
            shown = ", ".join(names[:MAX_NAMES]) + (" ..." if len(names) > MAX_NAMES else "")
            extension = (
                "an extension field of the profile reaches the API once the extension is "
                if resource == PROFILE
                else "a field added to the resource reaches the API once it is "
            )
            raise UnknownCampaignField(
                f"'{campaign_field}' is not a field of Campaign's {resource} resource; its "
                f"fields are: {shown}. Use one of them (technical names, case-sensitive); "
                f"{extension}published ({PUBLISH.removeprefix('publish it in Campaign (')}."
            )
        refused = refusal(dynamics_type, field, where=where, column=column)
        if refused is not None:
            raise CampaignTypeMismatch(refused)


def fields_of(rt: Runtime, account: EmailAccount) -> CampaignFields:
    return CampaignFields(rt.adobe_client(account))


def problems(rt: Runtime, account: EmailAccount, tables: list[TableMapping]) -> list[str]:
    """Every saved field Campaign would refuse, one line each (`adobe mappings check`)."""
    found: list[str] = []
    campaign = fields_of(rt, account)
    for table in tables:
        for mapping in table.fields:
            try:
                column_type = dynamics.check_column(
                    rt, table.dynamics_table, mapping.dynamics_field
                )
                with reaching(account, f"{table.campaign_resource}.{mapping.campaign_field}"):
                    campaign.check_field(
                        table.campaign_resource, mapping.campaign_field, column_type,
                        mapping.dynamics_field,
                    )  # fmt: skip
            except (BadInputError, NotFoundError) as error:
                found.append(f"{table.dynamics_table}.{mapping.dynamics_field}: {error}")
                if isinstance(error, ResourceNotPublished):
                    break  # one line for the table, not one per field
    return found


def check_saved(rt: Runtime, account: EmailAccount, tables: list[TableMapping]) -> Checked:
    with reaching(account, f"the mappings of '{account.account_id}'"):
        found = problems(rt, account, tables)
    count = sum(len(t.fields) for t in tables)
    if found:
        return Checked(problems=found, message=f"{len(found)} of {count} field(s) would fail.")
    return Checked(problems=[], message=f"All {count} mapped field(s) exist in Campaign and fit.")


def _said(error: Exception) -> str:
    return str(error).rstrip(". ")
