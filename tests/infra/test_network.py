"""Storage and Key Vault take no internet traffic unless asked, and the app always gets in.

For each value of publicNetworkAccess the template is evaluated (tests/infra/bicep_eval.py):
Disabled puts private endpoints and their DNS zones in the app's VNet, Enabled admits the app
subnet by service endpoint and the operators' ranges, and either way the firewalls deny by
default.
"""

from __future__ import annotations

import pytest
from pycep import BicepParser

from tests.infra.bicep_eval import Evaluator
from tests.infra.test_bicep import KEY_VAULT, MAIN, STORAGE, Doc, body, only, resources_of_type

PRIVATE_ENDPOINT = "Microsoft.Network/privateEndpoints"
DNS_ZONE = "Microsoft.Network/privateDnsZones"
OPERATORS = ["203.0.113.0/24"]  # documentation range (RFC 5737)


@pytest.fixture(scope="module")
def main() -> Doc:
    return BicepParser().parse(file_path=MAIN)


def deployed_bodies(main: Doc, evaluate: Evaluator, type_: str) -> dict[str, Doc]:
    return {
        symbol: resource
        for symbol, resource in resources_of_type(main, type_).items()
        if evaluate.deployed(resource)
    }


def firewalls(main: Doc, evaluate: Evaluator) -> dict[str, Doc]:
    return {type_: evaluate(only(main, type_)[1]["properties"]) for type_ in [STORAGE, KEY_VAULT]}


def test_default_has_no_public_endpoint_and_a_private_endpoint_per_service(main: Doc) -> None:
    evaluate = Evaluator(main)  # the defaults
    for type_, properties in firewalls(main, evaluate).items():
        assert properties["publicNetworkAccess"] == "Disabled", type_
        assert properties["networkAcls"]["defaultAction"] == "Deny", type_

    storage_symbol, _ = only(main, STORAGE)
    vault_symbol, _ = only(main, KEY_VAULT)
    # One private endpoint per storage service the app uses, and the vault's.
    storage_loop = main["resources"]["storagePrivateEndpoints"]
    assert evaluate.deployed(storage_loop)
    services = evaluate(storage_loop["config"]["loop_type"]["detail"]["array_name"])
    assert sorted(services) == ["blob", "queue", "table"]
    for service in services:
        connection = evaluate(body(storage_loop), {"service": service})
        [link] = connection["properties"]["privateLinkServiceConnections"]
        assert link["properties"]["privateLinkServiceId"] == f"{storage_symbol}.id"
        assert link["properties"]["groupIds"] == [service]
        assert connection["properties"]["subnet"]["id"] == "privateEndpointSubnet.id"
    vault_endpoint = main["resources"]["vaultPrivateEndpoint"]
    assert evaluate.deployed(vault_endpoint)
    [link] = evaluate(body(vault_endpoint))["properties"]["privateLinkServiceConnections"]
    assert link["properties"]["privateLinkServiceId"] == f"{vault_symbol}.id"
    assert link["properties"]["groupIds"] == ["vault"]


def test_private_endpoints_resolve_through_zones_linked_to_the_vnet(main: Doc) -> None:
    evaluate = Evaluator(main)
    zones = deployed_bodies(main, evaluate, DNS_ZONE)
    assert set(zones) == {"storageDnsZones", "vaultDnsZone"}
    # Each endpoint's zone group names the zone of its own service...
    group = body(main["resources"]["storageDnsGroups"])
    [config] = group["properties"]["privateDnsZoneConfigs"]
    # (the group, its endpoint and its zone are the i-th of the same storageServices loop)
    for symbol in ["storageDnsGroups", "storageDnsLinks"]:
        loop = main["resources"][symbol]["config"]["loop_type"]["detail"]
        assert loop["array_name"] == "storageServices" and loop["index_name"] == "i", symbol
    for symbol in ["storageDnsZones", "storagePrivateEndpoints"]:
        loop = main["resources"][symbol]["config"]["loop_type"]["detail"]
        assert loop["array_name"] == "storageServices", symbol
    zone_name = body(main["resources"]["storageDnsZones"])["name"]
    assert zone_name.startswith("privatelink.${service}.")
    index = config["properties"]["privateDnsZoneId"]["operator"]["operands"]["operand_1"]
    assert index["operator"]["operands"] == {"operand_1": "storageDnsZones", "operand_2": "i"}
    parent = group["parent"]["operator"]["operands"]
    assert parent == {"operand_1": "storagePrivateEndpoints", "operand_2": "i"}
    vault_group = evaluate(body(main["resources"]["vaultDnsGroup"]))
    [vault_config] = vault_group["properties"]["privateDnsZoneConfigs"]
    assert vault_config["properties"]["privateDnsZoneId"] == "vaultDnsZone.id"
    assert body(main["resources"]["vaultDnsZone"])["name"] == "privatelink.vaultcore.azure.net"
    # ...and every zone is linked to the app's VNet, without auto-registration.
    for symbol in ["storageDnsLinks", "vaultDnsLink"]:
        link = main["resources"][symbol]
        assert evaluate.deployed(link)
        properties = evaluate(body(link)["properties"])
        assert properties == {"registrationEnabled": False, "virtualNetwork": {"id": "vnet.id"}}


def test_enabled_admits_the_app_subnet_and_the_given_ranges_only(main: Doc) -> None:
    evaluate = Evaluator(main, publicNetworkAccess="Enabled", allowedIpRanges=OPERATORS)
    for type_, properties in firewalls(main, evaluate).items():
        acls = properties["networkAcls"]
        assert properties["publicNetworkAccess"] == "Enabled", type_
        assert acls["defaultAction"] == "Deny", type_
        assert [rule["value"] for rule in acls["ipRules"]] == OPERATORS, type_
        assert [rule["id"] for rule in acls["virtualNetworkRules"]] == ["appSubnet.id"], type_
    [subnet, _] = evaluate(body(main["resources"]["vnet"]))["properties"]["subnets"]
    endpoints = {endpoint["service"] for endpoint in subnet["properties"]["serviceEndpoints"]}
    assert endpoints == {"Microsoft.Storage", "Microsoft.KeyVault"}
    # No private endpoints or zones then: nothing in the VNet answers for the services.
    assert not deployed_bodies(main, evaluate, PRIVATE_ENDPOINT)
    assert not deployed_bodies(main, evaluate, DNS_ZONE)


def test_the_app_runs_in_the_subnet_the_firewalls_admit(main: Doc) -> None:
    evaluate = Evaluator(main)
    vnet = evaluate(body(main["resources"]["vnet"]))
    [app_subnet, endpoint_subnet] = vnet["properties"]["subnets"]
    assert body(main["resources"]["appSubnet"])["parent"] == "vnet"
    assert evaluate(body(main["resources"]["appSubnet"])["name"]) == app_subnet["name"]
    assert (
        evaluate(body(main["resources"]["privateEndpointSubnet"])["name"])
        == (endpoint_subnet["name"])
    )
    [delegation] = app_subnet["properties"]["delegations"]
    assert delegation["properties"]["serviceName"] == "Microsoft.App/environments"  # Flex
    # Its way out to Dataverse, Dotdigital and Service Bus, from one static address.
    assert app_subnet["properties"]["natGateway"]["id"] == "natGateway.id"
    _, app = only(main, "Microsoft.Web/sites")
    assert evaluate(app["properties"]["virtualNetworkSubnetId"]) == "appSubnet.id"
    assert main["outputs"]["outboundIpAddress"]


def test_ranges_open_nothing_while_public_access_is_disabled(main: Doc) -> None:
    # A range given while the public endpoints are off opens nothing.
    evaluate = Evaluator(main, allowedIpRanges=OPERATORS)
    for properties in firewalls(main, evaluate).values():
        assert properties["publicNetworkAccess"] == "Disabled"


def test_the_app_starts_after_its_private_names_resolve(main: Doc) -> None:
    # The host reaches Storage at its first start and Key Vault to resolve its references.
    depends_on = set(main["resources"]["functionApp"]["config"]["dependsOn"])
    for symbol, resource in main["resources"].items():
        if resource["type"] in {
            "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
            "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        }:
            assert symbol in depends_on, symbol
