"""The deployed defaults keep Dataverse requests in flight under its 52-per-user limit.

The limit is app-wide (every instance is the same application user), so the bound is the
product of instances, Service Bus calls per instance and the per-process Dataverse cap; the
three come from infra/main.bicep's parameters, which the app settings must carry through.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycep import BicepParser

from shared.clients.dataverse.transport import DOCUMENTED_CONCURRENCY_LIMIT
from shared.settings import Settings
from tests.infra.bicep_eval import Evaluator
from tests.infra.test_bicep import MAIN, ROOT, Doc, app_settings, function_call

HOST_OVERRIDE = "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls"


@pytest.fixture(scope="module")
def main() -> Doc:
    return BicepParser().parse(file_path=MAIN)


def default(main: Doc, name: str) -> int:
    value: Any = main["parameters"][name]["default"]
    assert isinstance(value, int), f"parameter {name} needs an integer default"
    return value


def passes_parameter(setting: Any, parameter: str) -> bool:
    """The app setting is `string(<parameter>)`."""
    return function_call(setting, "string") == {"value_to_convert": parameter}


def test_defaults_keep_dataverse_requests_under_its_limit(main: Doc) -> None:
    settings = app_settings(main)
    assert passes_parameter(settings[HOST_OVERRIDE], "serviceBusMaxConcurrentCalls")
    assert passes_parameter(settings["DATAVERSE_MAX_CONCURRENCY"], "dataverseMaxConcurrency")
    assert "FUNCTIONS_WORKER_PROCESS_COUNT" not in settings  # one process per instance
    host = json.loads((ROOT / "host.json").read_text())
    host_calls = host["extensions"]["serviceBus"]["maxConcurrentCalls"]
    calls = default(main, "serviceBusMaxConcurrentCalls")
    assert host_calls == calls  # local runs and deployments agree

    budget = (
        default(main, "maximumInstanceCount") * calls * default(main, "dataverseMaxConcurrency")
    )

    assert budget <= DOCUMENTED_CONCURRENCY_LIMIT == 52
    # A deployment that leaves DATAVERSE_MAX_CONCURRENCY unset gets the settings default.
    settings_default = Settings.model_fields["dataverse_max_concurrency"].default
    assert settings_default == default(main, "dataverseMaxConcurrency")


def test_the_example_parameters_keep_under_the_limit_too(main: Doc) -> None:
    # What the deployment reports (output dataverseRequestsInFlight) is the same product, for
    # the values an operator copies from the example.
    example = json.loads((ROOT / "infra" / "main.parameters.example.json").read_text())
    given = {name: entry["value"] for name, entry in example["parameters"].items()}
    factors = ["maximumInstanceCount", "serviceBusMaxConcurrentCalls", "dataverseMaxConcurrency"]
    values = {name: given.get(name, default(main, name)) for name in factors}
    evaluate = Evaluator(main, **values)

    in_flight = evaluate(main["outputs"]["dataverseRequestsInFlight"]["value"])

    assert (
        in_flight
        == values["maximumInstanceCount"]
        * values["serviceBusMaxConcurrentCalls"]
        * values["dataverseMaxConcurrency"]
    )
    assert in_flight <= DOCUMENTED_CONCURRENCY_LIMIT
