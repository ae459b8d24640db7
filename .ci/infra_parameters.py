"""Write the deployment parameters file of infra/main.bicep from the deploy job's variables.

`python .ci/infra_parameters.py OUT.json` reads BASE_NAME, DATAVERSE_URL, DATAVERSE_CLIENT_ID,
DATAVERSE_TENANT_ID (optional: the subscription's tenant) and DATAVERSE_PROVISIONER_OBJECT_ID
(optional: the provisioning identity, which then gets its roles) from the environment, plus
INFRA_PARAMETERS, an optional JSON object of any other template parameter (`{"alertEmail":
"ops@contoso.com"}`). what-if and the deployment both read the file, so they never differ.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
# variable -> template parameter; required unless listed in OPTIONAL
NAMED = {
    "BASE_NAME": "baseName",
    "DATAVERSE_URL": "dataverseUrl",
    "DATAVERSE_TENANT_ID": "dataverseTenantId",
    "DATAVERSE_CLIENT_ID": "dataverseClientId",
    # The provisioning identity's object id: the template gives it its Azure roles.
    "DATAVERSE_PROVISIONER_OBJECT_ID": "provisionerObjectId",
}
OPTIONAL = {"DATAVERSE_TENANT_ID", "DATAVERSE_PROVISIONER_OBJECT_ID"}
# Secure parameters never come through a variable (variables are printed in logs): the
# Dataverse client secret is set once in Key Vault (README, Deploy to Azure), the webhook key
# comes from .ci/webhook_key.py in the deploy job only.
REFUSED = {"dataverseClientSecret", "dynamicsWebhookKey"}


class ParameterError(Exception):
    pass


def parameters(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, name in NAMED.items():
        value = env.get(variable, "").strip()
        if value:
            values[name] = value
        elif variable not in OPTIONAL:
            raise ParameterError(
                f"the variable {variable} is empty: set it on the GitHub environment "
                "(Settings > Environments > production > Variables)"
            )
    extra_text = env.get("INFRA_PARAMETERS", "").strip()
    if extra_text:
        try:
            extra = json.loads(extra_text)
        except ValueError as error:
            raise ParameterError(f"INFRA_PARAMETERS is not JSON: {error}") from None
        if not isinstance(extra, dict):
            raise ParameterError("INFRA_PARAMETERS must be a JSON object of parameter values")
        for name, value in extra.items():
            if name in REFUSED:
                raise ParameterError(
                    f"INFRA_PARAMETERS may not set {name}: a secret does not belong in a "
                    "variable; set it in Key Vault instead"
                )
            if name in values:
                variable = next(v for v, n in NAMED.items() if n == name)
                raise ParameterError(f"INFRA_PARAMETERS sets {name}; set {variable} instead")
            values[name] = value
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": value} for name, value in values.items()},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python .ci/infra_parameters.py OUT.json", file=sys.stderr)
        return 2
    try:
        document = parameters(os.environ)
    except ParameterError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{out}: {', '.join(document['parameters'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
