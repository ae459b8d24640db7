"""Resource metadata against the ACS sandbox over HTTP: the profile's documented fields and
their types, a custom resource's fields (links included), extension fields only once published,
and the custom resources the extended API lists (a resource not yet published is not there)."""

from __future__ import annotations

import pytest

from sandbox.adobe import METADATA, RESOURCES
from shared.clients.adobe import AdobeCampaignClient, EngineRefusal
from tests.fixtures.sandboxes import AdobeSandbox


def test_the_profile_metadata_names_its_fields_with_their_types(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    profile = adobe_client.resource_metadata("profile")
    assert profile is not None
    kinds = {name: field.kind for name, field in profile.fields.items()}
    assert kinds["email"] == "string" and kinds["externalId"] == "string"
    assert kinds["birthDate"] == "date" and kinds["blackListEmailLastModified"] == "datetime"
    assert kinds["blackListEmail"] == "boolean" and kinds["ccpaOptOut"] == "boolean"
    assert kinds["age"] == "number" and kinds["location"] == "item"
    assert kinds["gender"] == "enumeration"
    assert set(profile.fields["gender"].values) == {"unknown", "male", "female"}
    assert "jobTitle" not in profile.fields
    (call,) = adobe_sandbox.state.counters.calls("GET", METADATA)
    assert call.path.endswith("/profileAndServicesExt/resourceType/profile")


def test_extension_fields_appear_once_published(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    adobe_sandbox.state.extend_resource("profile", {"jobTitle": ""}, published=False)
    profile = adobe_client.resource_metadata("profile")
    assert profile is not None and "jobTitle" not in profile.fields
    adobe_sandbox.state.publish()
    profile = adobe_client.resource_metadata("profile")
    assert profile is not None and profile.fields["jobTitle"].kind == "string"


def test_custom_resources_are_listed_once_published_with_their_fields(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    state = adobe_sandbox.state
    state.add_custom_resource(
        "cusLoyaltyCard",
        {"crmId": "", "points": 0, "active": False, "profile": {}, "since": ""},
        types={"since": "date", "profile": "link:profile"},
        custom_key="crmId",
    )
    state.add_custom_resource("cusDraft", {"crmId": ""}, published=False)
    assert adobe_client.custom_resources() == {"cusLoyaltyCard"}
    assert adobe_sandbox.state.counters.count("GET", RESOURCES) == 1
    assert adobe_client.resource_metadata("cusDraft") is None
    cards = adobe_client.resource_metadata("cusLoyaltyCard")
    assert cards is not None
    kinds = {name: (f.kind, f.target) for name, f in cards.fields.items()}
    assert kinds["crmId"] == ("string", "") and kinds["points"] == ("number", "")
    assert kinds["active"] == ("boolean", "") and kinds["since"] == ("date", "")
    assert kinds["profile"] == ("link", "profile")
    assert kinds["lastModified"] == ("datetime", "")
    state.publish()
    assert adobe_client.custom_resources() == {"cusLoyaltyCard", "cusDraft"}


def test_an_unpublished_field_is_refused_on_write_as_campaign_does(
    adobe_client: AdobeCampaignClient, adobe_sandbox: AdobeSandbox
) -> None:
    """What the save-time check prevents: the write fails only when ingress sends it."""
    adobe_sandbox.state.extend_resource("profile", {"jobTitle": ""}, published=False)
    with pytest.raises(EngineRefusal, match="XTK-170036"):
        adobe_client.create("profile", {"externalId": "c-1", "jobTitle": "CEO"})
