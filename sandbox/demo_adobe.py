"""Campaign's side of `make demo`: the custom resource the demo account maps accounts to
(`cusCompany`, keyed by `crmId`), and Margaret Hamilton, a contact who asked for no post in
Dynamics and whose Campaign profile (as an earlier ingress made it) was unsubscribed from email
in Campaign, so the demo's OptOut run has something to carry each way; Campaign's email events
about her (a send, an open, a click, as in Adobe's own example) wait in the I/O Events journal
for the demo's EventEgress run."""

from __future__ import annotations

from sandbox.adobe.state import AdobeState, wire_time
from sandbox.dataverse.state import DataverseState

ADOBE_PERSON = "margaret.hamilton@example.com"
COMPANY_RESOURCE = "cusCompany"
COMPANY_KEY = "crmId"


def seed_demo_adobe(dataverse: DataverseState, adobe: AdobeState) -> str:
    """Adds Margaret to both sides and the custom resource (once per sandbox start); returns
    her contact id."""
    contact_id = dataverse.insert(
        "contact",
        {"firstname": "Margaret", "lastname": "Hamilton", "emailaddress1": ADOBE_PERSON,
         "donotpostalmail": True},
    )  # fmt: skip
    adobe.add_custom_resource(
        COMPANY_RESOURCE,
        {COMPANY_KEY: "", "name": "", "city": ""},
        unique=(COMPANY_KEY,),
        custom_key=COMPANY_KEY,
    )
    # Unsubscribed in Campaign after the contact was created: Campaign stamps the attribute.
    stamp = wire_time(adobe.now() + 1)
    adobe.insert(
        "profile",
        {"externalId": contact_id, "email": ADOBE_PERSON, "firstName": "Margaret",
         "lastName": "Hamilton", "blackListEmail": True, "blackListEmailLastModified": stamp,
         "blackListAllLastModified": stamp},
    )  # fmt: skip
    for kind in ("send", "open", "click"):
        adobe.add_email_event(
            kind, contact_id, email=ADOBE_PERSON, campaign_id="2019LoyaltyCamp",
            delivery_id="DM190", url="https://www.example.com/loyalty" if kind == "click" else "",
        )  # fmt: skip
    return contact_id
