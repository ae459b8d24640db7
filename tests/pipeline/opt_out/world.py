"""The OptOut end-to-end tests' world: the account's mode and pairs, people on both sides
(a contact and, as ingress made it, its profile), changes made in Campaign through its API.
The fixtures (and the one clock all sides read) are in conftest.py."""

from __future__ import annotations

from typing import Any

from sandbox.adobe import AdobeState
from sandbox.dataverse.state import DataverseState
from shared.audit import AuditDetail, AuditRecord
from shared.clients.adobe import AdobeCampaignClient
from shared.runtime import Runtime
from shared.service import adobe_config
from shared.storage.adobe_config_model import CampaignOptOut, OptOutMode, OptOutPair
from shared.sync_types import SyncType

OPT_OUT = SyncType.OPT_OUT
PAIRS = [
    OptOutPair(campaign_attribute=CampaignOptOut.EMAIL, dynamics_field="donotbulkemail"),
    OptOutPair(campaign_attribute=CampaignOptOut.POSTAL_MAIL, dynamics_field="donotpostalmail"),
    OptOutPair(campaign_attribute=CampaignOptOut.CCPA, dynamics_field="donotfax"),
]


def set_mode(rt: Runtime, mode: OptOutMode, pairs: list[OptOutPair] = PAIRS) -> None:
    change = adobe_config.OptOutChange(mode=mode, pairs=pairs)
    adobe_config.set_opt_out(rt, "globex", change)


def person(
    dv: DataverseState, acs: AdobeState, name: str, *, profile: bool = True, **contact: Any
) -> str:
    """A contact and (as ingress made it) its profile keyed by externalId = contactid."""
    contact_id = dv.insert("contact", {"lastname": name, "emailaddress1": f"{name}@example.com",
                                       **contact})  # fmt: skip
    if profile:
        acs.insert("profile", {"externalId": contact_id, "email": f"{name}@example.com"})
    return contact_id


def profile_of(acs: AdobeState, contact_id: str) -> dict[str, Any]:
    [found] = [p for p in acs.profiles() if p["externalId"] == contact_id]
    return found


def campaign_sets(client: AdobeCampaignClient, contact_id: str, **values: bool) -> None:
    """A change made in Campaign (a person unsubscribing, an operator): through the API, so
    each attribute's *LastModified moves as Campaign moves it."""
    found = client.get_by_key("profile", contact_id)
    assert found is not None
    client.update(str(found["href"]), values)


def contact_row(dv: DataverseState, contact_id: str) -> dict[str, Any]:
    row = dv.row("contact", contact_id)
    assert row is not None
    return row


def details_of(rt: Runtime, audit: AuditRecord) -> dict[str, AuditDetail]:
    return {d.item: d for d in rt.audit.details("globex", audit.row_key)}
