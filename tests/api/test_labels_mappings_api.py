"""Data labels and mappings through the admin API: add, list, delete, and the refusals an
admin meets (a label in use, a name that collides, the Email mapping, unknown ones)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.runtime import Runtime
from tests.api.conftest import problem
from tests.fixtures.crm_fields import marketing_crm_fields


def test_a_label_is_added_listed_and_deleted(api: httpx.Client, acme_api: dict[str, Any]) -> None:
    added = api.post("/accounts/acme/labels", json={"name": "Loyalty Tier!", "type": "Numeric"})
    assert added.status_code == 201, added.text
    assert added.json()["origin"] == "Dynamics" and added.json()["is_synchronised"] is False
    assert [lbl["name"] for lbl in api.get("/accounts/acme/labels").json()] == ["Loyalty Tier!"]

    collides = problem(api.post("/accounts/acme/labels", json={"name": "loyalty tier?"}), 409)
    assert "cannot be told apart from the existing label 'Loyalty Tier!'" in collides["detail"]
    assert problem(api.post("/accounts/acme/labels", json={"name": " "}), 422)["detail"] == (
        "A data label needs a name, e.g. LOYALTYTIER."
    )

    deleted = api.delete("/accounts/acme/labels/Loyalty Tier!")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["message"] == (
        "Deleted the label 'Loyalty Tier!'; it was never created on the platform."
    )
    assert api.get("/accounts/acme/labels").json() == []
    assert problem(api.delete("/accounts/acme/labels/Loyalty Tier!"), 404)


def test_a_mapping_is_added_listed_and_deleted_and_keeps_its_label_until_then(
    api: httpx.Client, acme_api: dict[str, Any], sync_runtime: Runtime
) -> None:
    sync_runtime.crm_fields.upsert("acme", marketing_crm_fields())
    assert api.post("/accounts/acme/labels", json={"name": "JOBROLE"}).status_code == 201
    mapping = {"label": "JOBROLE", "entity": "contact", "primary_field": "jobtitle"}
    added = api.post("/accounts/acme/mappings", json=mapping)
    assert added.status_code == 201, added.text
    listed = api.get("/accounts/acme/mappings").json()
    assert any(m["label"] == "JOBROLE" and m["primary_field"] == "jobtitle" for m in listed)
    assert problem(api.post("/accounts/acme/mappings", json=mapping), 409)

    in_use = problem(api.delete("/accounts/acme/labels/JOBROLE"), 409)
    assert "used by the mapping JOBROLE <-> contact.jobtitle" in in_use["detail"]

    deleted = api.delete("/accounts/acme/mappings/contact/JOBROLE")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["mapping"]["primary_field"] == "jobtitle"
    assert problem(api.delete("/accounts/acme/mappings/contact/JOBROLE"), 404)
    assert api.delete("/accounts/acme/labels/JOBROLE").status_code == 200


def test_mapping_refusals(api: httpx.Client, acme_api: dict[str, Any]) -> None:
    email = problem(api.delete("/accounts/acme/mappings/contact/Email"), 422)
    assert "cannot be deleted" in email["detail"]
    unknown_field = {"label": "FIRSTNAME", "entity": "contact", "primary_field": "Bad Field"}
    refused = problem(api.post("/accounts/acme/mappings", json=unknown_field), 422)
    assert refused["detail"].startswith("body.primary_field: String should match pattern")
    half_linked = {"label": "X", "entity": "contact", "primary_field": "a", "linked_entity": "b"}
    assert problem(api.post("/accounts/acme/mappings", json=half_linked), 422)["detail"] == (
        "A linked CRM field needs both the linked entity and its field."
    )
