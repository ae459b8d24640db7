"""RemoteExecutionContext bodies for tests: the documented sample and variants built from its
shapes (Create, Update, Delete, Associate, Disassociate, oversized)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

SAMPLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "update_contact_sample.json"
)
ORGANIZATION_ID = "4ef5b371-e89e-e711-8122-000d3aa2331c"  # the sample's OrganizationId
DOMAIN = "contoso.crm.dynamics.com"
CONTACT_ID = "6d81597f-0f9f-e711-8122-000d3aa2331c"
LIST_ID = "0f3a6c1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f"
USER_ID = "75c2dd85-e89e-e711-8122-000d3aa2331c"
CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"


_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def is_guid_text(text: str) -> bool:
    return _GUID.fullmatch(text) is not None


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text())
    return loaded


def encode(body: dict[str, Any] | list[Any]) -> bytes:
    # Dataverse escapes "/" as "\/" (WCF): keep that form on the wire.
    return json.dumps(body).replace("/", "\\/").encode()


def headers(*, domain: str = DOMAIN, size_exceeded: bool = False) -> dict[str, str]:
    found = {
        "x-ms-dynamics-organization": domain,
        "x-ms-dynamics-entity-name": "contact",
        "x-ms-correlation-request-id": "9e0a1d7c-3b41-4c5e-8f27-6a1b2c3d4e5f",
    }
    if size_exceeded:
        found["x-ms-dynamics-msg-size-exceeded"] = "true"
    return found


def reference(logical_name: str, record_id: str) -> dict[str, Any]:
    return {
        "__type": f"EntityReference:{CONTRACTS}",
        "Id": record_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "Name": None,
        "RowVersion": None,
    }


def entity(logical_name: str, record_id: str, **columns: Any) -> dict[str, Any]:
    return {
        "__type": f"Entity:{CONTRACTS}",
        "Attributes": [{"key": k, "value": v} for k, v in columns.items()],
        "EntityState": None,
        "FormattedValues": [],
        "Id": record_id,
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "RelatedEntities": [],
        "RowVersion": None,
    }


def update() -> dict[str, Any]:
    return sample()


def create() -> dict[str, Any]:
    body = sample()
    body["MessageName"] = "Create"
    target = entity(
        "contact",
        CONTACT_ID,
        emailaddress1="james@example.invalid",
        firstname="James",
        donotbulkemail=False,
        dms_optintype={"__type": f"OptionSetValue:{CONTRACTS}", "Value": 2},
        creditlimit={"__type": f"Money:{CONTRACTS}", "Value": 1500.5},
        parentcustomerid=reference("account", "a1b2c3d4-0000-4000-8000-000000000001"),
        createdon="/Date(1506384247000)/",
    )
    target["RowVersion"] = "1234567"
    body["InputParameters"] = [{"key": "Target", "value": target}]
    body["PostEntityImages"] = []
    return body


def delete() -> dict[str, Any]:
    body = sample()
    body["MessageName"] = "Delete"
    body["InputParameters"] = [{"key": "Target", "value": reference("contact", CONTACT_ID)}]
    body["PreEntityImages"] = [
        {"key": "before", "value": entity("contact", CONTACT_ID, emailaddress1="j@example.invalid")}
    ]
    body["PostEntityImages"] = []
    return body


def associate(message: str = "Associate") -> dict[str, Any]:
    body = sample()
    body["MessageName"] = message
    # Associate steps have no primary table: Dataverse names "none" and the empty GUID.
    body["PrimaryEntityName"] = "none"
    body["PrimaryEntityId"] = "00000000-0000-0000-0000-000000000000"
    body["InputParameters"] = [
        {"key": "Target", "value": reference("list", LIST_ID)},
        {
            "key": "Relationship",
            "value": {
                "__type": f"Relationship:{CONTRACTS}",
                "PrimaryEntityRole": None,
                "SchemaName": "listcontact_association",
            },
        },
        {"key": "RelatedEntities", "value": [reference("contact", CONTACT_ID)]},
    ]
    body["PostEntityImages"] = []
    return body


def oversized(body: dict[str, Any]) -> dict[str, Any]:
    """What Dataverse sends over 256 KB: no InputParameters, images or ParentContext."""
    smaller = copy.deepcopy(body)
    for key in ("InputParameters", "PreEntityImages", "PostEntityImages", "ParentContext"):
        smaller.pop(key, None)
    return smaller


VARIANTS = {
    "Create": create,
    "Update": update,
    "Delete": delete,
    "Associate": associate,
    "Disassociate": lambda: associate("Disassociate"),
}
