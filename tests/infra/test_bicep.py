"""Offline checks of infra/*.bicep: it parses, and it wires what the app expects.

The Bicep CLI is not available offline, so pycep-parser (a pure-Python Bicep grammar) stands in
for syntax checking, and the assertions below read its parsed structure. pycep does not check
types, undefined symbols or resource schemas, so a few of those are approximated here too
(symbol references, deploy-time-constant role assignment names); `bicep build` and `what-if`
remain the job of the deploy workflow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lark.exceptions import LarkError
from pycep import BicepParser

from shared.settings import Settings
from tests.infra.bicep_eval import Evaluator

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

Doc = dict[str, Any]

EXPECTED_TABLES = {
    "EmailAccounts",
    "SyncSchedules",
    "SyncDue",
    "SyncState",
    "SyncAudit",
    "SyncAuditDetails",
    "CrmFields",
    "EmailDataLabels",
    "EmailDataMappings",
    "MarketingListLinks",
    "ListSnapshots",
    "MarketingListHistory",
    "WebhookRegistrations",
    "WebhookEvents",
    "WebhookTargets",
    "ProgramAccess",
    "UserMappings",
    "AdobeCampaignConfig",
    "AdobeFileDrop",
}

EXPECTED_APP_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "ServiceBusConnection__fullyQualifiedNamespace",
    "SYNC_QUEUE_BACKEND",
    "SYNC_QUEUE_NAME",
    "DATAVERSE_URL",
    "DATAVERSE_TENANT_ID",
    "DATAVERSE_CLIENT_ID",
    "DATAVERSE_CLIENT_SECRET",
    "DOTDIGITAL_DISCOVERY_URL",
    "KEY_VAULT_URL",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "AUDIT_RETENTION_DAYS",
}

STORAGE = "Microsoft.Storage/storageAccounts"
SB_NAMESPACE = "Microsoft.ServiceBus/namespaces"
KEY_VAULT = "Microsoft.KeyVault/vaults"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role id -> the resource type it must be scoped to.
EXPECTED_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": STORAGE,  # Storage Blob Data Owner
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": STORAGE,  # Storage Queue Data Contributor
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": STORAGE,  # Storage Table Data Contributor
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": SB_NAMESPACE,  # Azure Service Bus Data Receiver
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": SB_NAMESPACE,  # Azure Service Bus Data Sender
    "4633458b-17de-408a-b874-0445c86b69e6": KEY_VAULT,  # Key Vault Secrets User
}

KEY_VAULT_REFERENCE = re.compile(
    r"^@Microsoft\.KeyVault\(VaultName=\$\{(?P<vault>\w+)\.name\};"
    r"SecretName=(?P<secret>[A-Za-z0-9-]+)\)$"
)

# Names Bicep provides without a declaration (functions called without a namespace prefix
# are recognised by the following "(", so only namespaces/objects are listed).
BUILTIN_SYMBOLS = {"az", "sys", "resourceGroup", "subscription", "tenant", "environment"}


# -- parsing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parser() -> BicepParser:
    return BicepParser()


@pytest.fixture(scope="module")
def main(parser: BicepParser) -> Doc:
    return parser.parse(file_path=MAIN)


def test_infra_has_a_main_template() -> None:
    assert MAIN in BICEP_FILES


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_bicep_file_parses(parser: BicepParser, path: Path) -> None:
    doc = parser.parse(file_path=path)
    assert doc.get("resources") or doc.get("modules"), f"{path} declares nothing"


def test_parser_rejects_a_syntax_error(parser: BicepParser) -> None:
    # Guards the gate itself: the real template minus one closing brace must not parse.
    lines = MAIN.read_text().splitlines(keepends=True)
    closing = next(i for i, line in enumerate(lines) if line.rstrip() == "}")
    broken = "".join(lines[:closing] + lines[closing + 1 :])
    with pytest.raises(LarkError):
        parser.parse(text=broken)


# -- helpers over pycep's structure --------------------------------------------------------


def body(resource: Doc) -> Doc:
    """A resource's own properties, unwrapped from `[for ...]` and `if (...)` wrappers."""
    config: Doc = resource["config"]
    while "loop_type" in config or ("condition" in config and "config" in config):
        config = config["config"]
    return config


def resources_of_type(doc: Doc, type_: str) -> dict[str, Doc]:
    return {
        symbol: resource
        for symbol, resource in doc["resources"].items()
        if resource["type"] == type_ and not resource["existing"]
    }


def only(doc: Doc, type_: str) -> tuple[str, Doc]:
    found = resources_of_type(doc, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    [(symbol, resource)] = found.items()
    return symbol, body(resource)


def accessor(value: Any) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"], or None when the value is no property access."""
    operator = value.get("operator") if isinstance(value, dict) else None
    if not isinstance(operator, dict) or operator.get("type") != "property_accessor":
        return None
    operands = value["operator"]["operands"]
    head, tail = operands["operand_1"], operands["operand_2"]
    if not isinstance(head, str):
        return None
    rest = [tail] if isinstance(tail, str) else accessor(tail)
    return None if rest is None else [head, *rest]


def resolve(doc: Doc, value: Any) -> Any:
    """Follow variable names, `var.key` and `resource.name` to a literal where possible.

    pycep gives identifiers and string literals alike as Python strings, so a string that
    names a variable is taken as that variable.
    """
    if isinstance(value, str) and value in doc.get("variables", {}):
        return resolve(doc, doc["variables"][value]["value"])
    path = accessor(value)
    if path and len(path) == 2:
        head, key = path
        if head in doc.get("variables", {}):
            container = resolve(doc, head)
            if isinstance(container, dict) and key in container:
                return resolve(doc, container[key])
        if head in doc["resources"] and key == "name":
            return resolve(doc, body(doc["resources"][head])["name"])
    return value


def function_call(value: Any, type_: str) -> Doc:
    assert isinstance(value, dict) and "function" in value, f"not a function call: {value!r}"
    assert value["function"]["type"] == type_, value
    parameters: Doc = value["function"]["parameters"]
    return parameters


def walk(value: Any) -> Iterator[Any]:
    """Every node, except the members inside a property access (`a.b.c` yields once)."""
    yield value
    if accessor(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def app_settings(doc: Doc) -> dict[str, Any]:
    _, app = only(doc, "Microsoft.Web/sites")
    entries = app["properties"]["siteConfig"]["appSettings"]
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), f"duplicate app settings: {names}"
    return {entry["name"]: entry["value"] for entry in entries}


# -- Service Bus ---------------------------------------------------------------------------


def test_service_bus_namespace_is_standard_and_identity_only(main: Doc) -> None:
    _, namespace = only(main, SB_NAMESPACE)
    assert namespace["sku"]["name"] == "Standard"
    assert namespace["sku"].get("tier", "Standard") == "Standard"
    assert namespace["properties"]["disableLocalAuth"] is True


def test_sync_queue_properties(main: Doc) -> None:
    namespace_symbol, _ = only(main, SB_NAMESPACE)
    _, queue = only(main, "Microsoft.ServiceBus/namespaces/queues")
    assert queue["parent"] == namespace_symbol
    assert resolve(main, queue["name"]) == "sync-requests"
    properties = queue["properties"]
    assert properties["requiresDuplicateDetection"] is True
    assert properties["duplicateDetectionHistoryTimeWindow"] == "PT10M"
    assert properties["lockDuration"] == "PT5M"
    assert properties["maxDeliveryCount"] == 5
    assert properties["deadLetteringOnMessageExpiration"] is True
    assert properties.get("requiresSession", False) is False  # the worker doesn't use sessions


# -- Storage -------------------------------------------------------------------------------


def test_storage_account_is_locked_down(main: Doc) -> None:
    _, account = only(main, STORAGE)
    assert account["kind"] == "StorageV2"
    properties = account["properties"]
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["allowBlobPublicAccess"] is False
    assert properties["allowSharedKeyAccess"] is False


def declared_table_names(doc: Doc) -> set[str]:
    account_symbol, _ = only(doc, STORAGE)
    service_symbol, service = only(doc, f"{STORAGE}/tableServices")
    assert service["parent"] == account_symbol
    names: set[str] = set()
    for resource in resources_of_type(doc, f"{STORAGE}/tableServices/tables").values():
        table = body(resource)
        assert table["parent"] == service_symbol
        loop = resource["config"].get("loop_type")
        if loop:
            assert loop["type"] == "array", loop
            assert table["name"] == loop["detail"]["item_name"]
            items = resolve(doc, loop["detail"]["array_name"])
            assert isinstance(items, list), f"table loop over {items!r}"
            names.update(items)
        else:
            names.add(resolve(doc, table["name"]))
    return names


def test_all_product_tables_are_declared(main: Doc) -> None:
    assert declared_table_names(main) == EXPECTED_TABLES


def test_declared_tables_match_the_app(main: Doc) -> None:
    from shared.storage.tables import TABLES

    assert declared_table_names(main) == set(TABLES)


def test_flex_deployment_container_is_private(main: Doc) -> None:
    account_symbol, _ = only(main, STORAGE)
    blob_symbol, blob_service = only(main, f"{STORAGE}/blobServices")
    assert blob_service["parent"] == account_symbol
    _, container = only(main, f"{STORAGE}/blobServices/containers")
    assert container["parent"] == blob_symbol
    assert container["properties"]["publicAccess"] == "None"

    _, app = only(main, "Microsoft.Web/sites")
    deployment = app["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert deployment["type"] == "blobContainer"
    assert deployment["authentication"]["type"] == "SystemAssignedIdentity"
    container_name = resolve(main, container["name"])
    assert deployment["value"] == (
        f"${{{account_symbol}.properties.primaryEndpoints.blob}}${{{container['name']}}}"
    ), f"deployment storage should point at container {container_name!r}"


# -- Key Vault -----------------------------------------------------------------------------


def test_key_vault_uses_rbac_soft_delete_and_purge_protection(main: Doc) -> None:
    _, vault = only(main, KEY_VAULT)
    properties = vault["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["enablePurgeProtection"] is True


@pytest.mark.parametrize(
    ("setting", "secret_name", "parameter"),
    [
        ("DATAVERSE_CLIENT_SECRET", "dataverse-client-secret", "dataverseClientSecret"),
        ("DYNAMICS_WEBHOOK_KEY", "dynamics-webhook-key", "dynamicsWebhookKey"),
    ],
)
def test_secrets_are_key_vault_references_to_secrets_the_template_can_write(
    main: Doc, setting: str, secret_name: str, parameter: str
) -> None:
    vault_symbol, _ = only(main, KEY_VAULT)
    value = app_settings(main)[setting]
    assert isinstance(value, str)
    match = KEY_VAULT_REFERENCE.match(value)
    assert match, f"not a Key Vault reference: {value!r}"
    assert match["vault"] == vault_symbol
    assert match["secret"] == secret_name

    # The template writes the secret the reference reads, from a secure parameter, and only
    # when that parameter is given: a redeploy never overwrites a value set or rotated since.
    [secret] = [
        body(resource)
        for resource in resources_of_type(main, f"{KEY_VAULT}/secrets").values()
        if resolve(main, body(resource)["name"]) == secret_name
    ]
    assert secret["parent"] == vault_symbol
    assert secret["properties"]["value"] == parameter
    assert {"type": "secure"} in main["parameters"][parameter]["decorators"]
    assert main["parameters"][parameter]["default"] == ""
    [written] = [
        r for r in resources_of_type(main, f"{KEY_VAULT}/secrets").values()
        if body(r) is secret
    ]  # fmt: skip
    assert not Evaluator(main, **{parameter: ""}).deployed(written)
    assert Evaluator(main, **{parameter: "a value"}).deployed(written)


# -- Function App --------------------------------------------------------------------------


def test_function_app_is_linux_flex_python_311_with_system_identity(main: Doc) -> None:
    plan_symbol, plan = only(main, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True

    _, app = only(main, "Microsoft.Web/sites")
    assert app["kind"] == "functionapp,linux"
    assert app["identity"]["type"] == "SystemAssigned"
    assert accessor(app["properties"]["serverFarmId"]) == [plan_symbol, "id"]
    assert app["properties"]["functionAppConfig"]["runtime"] == {
        "name": "python",
        "version": "3.11",
    }


def test_app_settings_names(main: Doc) -> None:
    settings = app_settings(main)
    missing = EXPECTED_APP_SETTINGS - settings.keys()
    assert not missing, f"missing app settings: {sorted(missing)}"
    # Flex Consumption rejects these; the runtime lives in functionAppConfig.runtime.
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & settings.keys()
    # Identity connections only: a setting named exactly like the connection is a secret.
    assert not {"AzureWebJobsStorage", "ServiceBusConnection"} & settings.keys()


def test_app_settings_values(main: Doc) -> None:
    settings = app_settings(main)
    storage_symbol, _ = only(main, STORAGE)
    namespace_symbol, _ = only(main, SB_NAMESPACE)
    vault_symbol, _ = only(main, KEY_VAULT)
    insights_symbol, _ = only(main, "Microsoft.Insights/components")

    assert accessor(settings["AzureWebJobsStorage__accountName"]) == [storage_symbol, "name"]
    assert settings["ServiceBusConnection__fullyQualifiedNamespace"] == (
        f"${{{namespace_symbol}.name}}.servicebus.windows.net"
    )
    assert settings["SYNC_QUEUE_BACKEND"] == "ServiceBus"
    assert resolve(main, settings["SYNC_QUEUE_NAME"]) == "sync-requests"
    assert settings["DOTDIGITAL_DISCOVERY_URL"] == "https://r1-api.dotdigital.com"
    assert settings["AUDIT_RETENTION_DAYS"] == "30"
    assert settings["DYNAMICS_WEBHOOK_KEY"].startswith("@Microsoft.KeyVault(")
    assert accessor(settings["KEY_VAULT_URL"]) == [vault_symbol, "properties", "vaultUri"]
    assert accessor(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]) == [
        insights_symbol,
        "properties",
        "ConnectionString",
    ]
    for name, parameter in [
        ("DATAVERSE_URL", "dataverseUrl"),
        ("DATAVERSE_TENANT_ID", "dataverseTenantId"),
        ("DATAVERSE_CLIENT_ID", "dataverseClientId"),
    ]:
        assert settings[name] == parameter
        assert parameter in main["parameters"]
    # Who may frame the operator console: a parameter, by default the app's own default.
    assert settings["CONSOLE_FRAME_ANCESTORS"] == "consoleFrameAncestors"
    default = main["parameters"]["consoleFrameAncestors"]["default"]
    assert default == Settings.model_fields["console_frame_ancestors"].default


# -- role assignments ----------------------------------------------------------------------


def _app_assignments(main: Doc) -> dict[str, Doc]:
    app_symbol, _ = only(main, "Microsoft.Web/sites")
    return {
        symbol: resource
        for symbol, resource in resources_of_type(main, ROLE_ASSIGNMENT).items()
        if accessor(body(resource)["properties"]["principalId"])
        == [app_symbol, "identity", "principalId"]
    }


def test_every_role_is_assigned_to_the_app_identity(main: Doc) -> None:
    app_symbol, _ = only(main, "Microsoft.Web/sites")
    assigned: dict[str, str] = {}
    for symbol, resource in _app_assignments(main).items():
        assignment = body(resource)
        properties = assignment["properties"]
        assert properties["principalType"] == "ServicePrincipal"

        definition = function_call(properties["roleDefinitionId"], "subscription_resource_id")
        assert definition["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_id = resolve(main, definition["resource_name_1"])
        assert role_id in EXPECTED_ROLES, f"{symbol}: unexpected role {role_id!r}"
        assert role_id not in assigned, f"{symbol}: {role_id} assigned twice"

        scope = assignment["scope"]
        assert main["resources"][scope]["type"] == EXPECTED_ROLES[role_id], symbol
        assigned[role_id] = symbol

        # name: guid(scope, app, role) - deterministic, and unique per scope/app/role.
        seeds = function_call(assignment["name"], "guid").values()
        assert any(accessor(seed) == [scope, "id"] for seed in seeds), symbol
        assert any(accessor(seed) == [app_symbol, "id"] for seed in seeds), symbol
        assert any(resolve(main, seed) == role_id for seed in seeds), symbol
        # A resource name must be known when the deployment starts; principalId is not.
        assert not any("principalId" in json.dumps(seed) for seed in seeds), symbol

    assert assigned.keys() == EXPECTED_ROLES.keys()


WEBSITE_CONTRIBUTOR = "de139f84-1756-47ae-9be6-808fbbe84772"
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


def test_the_provisioning_identity_gets_its_azure_roles_when_named(main: Doc) -> None:
    """README's one-time Azure steps for the provisioning job's identity, as role assignments:
    reading the app's settings and function keys, writing WebhookRegistrations."""
    others = {
        symbol: resource
        for symbol, resource in resources_of_type(main, ROLE_ASSIGNMENT).items()
        if symbol not in _app_assignments(main)
    }
    roles: dict[str, str] = {}
    for symbol, resource in others.items():
        assignment = body(resource)
        properties = assignment["properties"]
        assert properties["principalId"] == "provisionerObjectId", symbol
        assert properties["principalType"] == "ServicePrincipal"
        definition = function_call(properties["roleDefinitionId"], "subscription_resource_id")
        roles[resolve(main, definition["resource_name_1"])] = main["resources"][
            assignment["scope"]
        ]["type"]
        seeds = list(function_call(assignment["name"], "guid").values())
        assert accessor(seeds[0]) == [assignment["scope"], "id"], symbol
        assert "provisionerObjectId" in seeds, symbol  # one assignment per identity and role
        # Only when an identity is named; no assignment to an empty principal.
        assert not Evaluator(main, provisionerObjectId="").deployed(resource), symbol
        assert Evaluator(main, provisionerObjectId="0000-id").deployed(resource), symbol
    assert roles == {
        WEBSITE_CONTRIBUTOR: "Microsoft.Web/sites",
        TABLE_DATA_CONTRIBUTOR: STORAGE,
    }
    assert main["parameters"]["provisionerObjectId"]["default"] == ""


# -- parameters, outputs, references -------------------------------------------------------


def test_parameters_and_outputs(main: Doc) -> None:
    for name in ["baseName", "location", "dataverseUrl", "dataverseTenantId", "dataverseClientId"]:
        assert name in main["parameters"], name
    app_symbol, _ = only(main, "Microsoft.Web/sites")
    vault_symbol, _ = only(main, KEY_VAULT)
    outputs = main["outputs"]
    assert accessor(outputs["functionAppName"]["value"]) == [app_symbol, "name"]
    assert accessor(outputs["keyVaultName"]["value"]) == [vault_symbol, "name"]


def test_secret_parameters_are_marked_secure(main: Doc) -> None:
    for name in ("dataverseClientSecret", "dynamicsWebhookKey"):
        assert {"type": "secure"} in main["parameters"][name]["decorators"], name


def test_example_parameters_fit_the_template(main: Doc) -> None:
    example = json.loads((INFRA / "main.parameters.example.json").read_text())
    given = example["parameters"].keys()
    declared = main["parameters"]
    assert given <= declared.keys(), given - declared.keys()
    required = {name for name, parameter in declared.items() if parameter["default"] is None}
    assert required <= given, required - given


def declared_symbols(doc: Doc) -> set[str]:
    symbols = set(BUILTIN_SYMBOLS)
    for section in ["parameters", "variables", "resources", "modules"]:
        symbols.update(doc.get(section, {}))
    # Loop variables, of resource loops and of loops inside values (`[for (x, i) in ...]`).
    for node in walk(doc):
        if isinstance(node, dict) and isinstance(node.get("loop_type"), dict):
            detail = node["loop_type"]["detail"]
            symbols.add(detail["item_name"])
            if "index_name" in detail:
                symbols.add(detail["index_name"])
    return symbols


def test_references_name_declared_symbols(main: Doc) -> None:
    # pycep accepts undefined identifiers; `bicep build` would not. Check the two places
    # where a typo hides: `x.y` accessors and `${x...}` interpolations.
    symbols = declared_symbols(main)
    unknown: set[str] = set()
    for node in walk(main):
        path = accessor(node)
        if path and path[0] not in symbols:
            unknown.add(path[0])
        if isinstance(node, str):
            for match in re.finditer(r"\$\{\s*([A-Za-z_]\w*)\s*(\()?", node):
                if not match[2] and match[1] not in symbols:
                    unknown.add(match[1])
    assert not unknown, f"undeclared symbols: {sorted(unknown)}"


# -- checkov's findings, fixed -------------------------------------------------------------


def test_function_app_serves_http2_over_tls_only(main: Doc) -> None:
    _, app = only(main, "Microsoft.Web/sites")
    assert app["properties"]["httpsOnly"] is True
    site_config = app["properties"]["siteConfig"]
    assert site_config["http20Enabled"] is True
    assert site_config["minTlsVersion"] == "1.2"
    assert site_config["ftpsState"] == "Disabled"


def test_written_secrets_say_what_they_are_and_when_they_expire(main: Doc) -> None:
    written = {
        resolve(main, body(resource)["name"]): body(resource)["properties"]
        for resource in resources_of_type(main, f"{KEY_VAULT}/secrets").values()
    }
    assert written.keys() == {"dataverse-client-secret", "dynamics-webhook-key"}
    assert "Dataverse app registration" in written["dataverse-client-secret"]["contentType"]
    assert "webhook" in written["dynamics-webhook-key"]["contentType"]
    for secret in written.values():
        assert secret["contentType"].startswith("text/plain")
        expiry = function_call(secret["attributes"]["exp"], "date_time_to_epoch")
        parameter = main["parameters"][expiry["date_time"]]
        assert parameter["type"] == "string"
        # The default (used when the operator gives no end date) is a date ahead, never now.
        default = function_call(parameter["default"], "date_time_add")
        assert default["duration"].startswith("P") and default["duration"] != "P0D"


def test_storage_is_geo_redundant_by_default(main: Doc) -> None:
    _, account = only(main, STORAGE)
    parameter = main["parameters"][account["sku"]["name"]]
    assert parameter["default"] in {"Standard_GRS", "Standard_GZRS", "Standard_RAGRS"}
    allowed = next(d["argument"] for d in parameter["decorators"] if d["type"] == "allowed")
    assert parameter["default"] in allowed
