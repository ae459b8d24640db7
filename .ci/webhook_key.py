"""The Dataverse webhook key in the deploy job: created once, rotated on request, and the Key
Vault secret the app reads kept equal to the webhook function's key, which Dataverse is given.

    python .ci/webhook_key.py plan --resource-group RG --out FILE [--rotate]
    python .ci/webhook_key.py apply --resource-group RG --app APP --parameters FILE

`plan` runs before the template is deployed. The secret's value cannot be read from here, but
its tag `keyCheck` (a short hash, written with it) can, and so can the function key. Same
hash: nothing to do, FILE is not written. Otherwise FILE, a deployment parameters file, gets
the key the template stores in Key Vault before the app starts:
- the function key's own value when the secret is missing or differs (a deploy that stopped
  half-way, a secret set by hand): Dataverse already has that key, nothing changes for it;
- a new random key when there is no function key to keep (the first deployment, an app that
  did not start, a key deleted) or `--rotate` asks for one.
`apply` runs once the package is deployed and its functions are indexed: it gives the function
key the value in FILE and deletes FILE; without FILE there is nothing to do. Dataverse gets a
new key from the provisioning job (`webhooks register`).

Standard library only; Azure through the `az` CLI the job signed in with (control plane only,
so the vault's network rules do not matter). The key is never printed; on GitHub Actions it is
masked before anything else is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SECRET = "dynamics-webhook-key"  # infra/main.bicep: webhookKeySecret
FUNCTION = "dynamics_webhook"  # functions/webhooks.py
KEY_NAME = "dynamics-webhook"  # the function key Dataverse presents
PARAMETER = "dynamicsWebhookKey"  # infra/main.bicep
CHECK_PARAMETER = "dynamicsWebhookKeyCheck"  # infra/main.bicep: the secret's tag keyCheck
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"


class Stop(Exception):
    """A step that cannot go on: its message is the line printed."""


def az(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["az", *args], capture_output=True, text=True, check=False)


def _json(result: subprocess.CompletedProcess[str], what: str) -> Any:
    if result.returncode != 0:
        raise Stop(f"{what}: {result.stderr.strip() or 'az failed'}")
    return json.loads(result.stdout or "null")


def _not_found(result: subprocess.CompletedProcess[str]) -> bool:
    # az says (ResourceNotFound), (ParentResourceNotFound) or "... 'Not Found'", by command.
    return result.returncode != 0 and re.search(r"not ?found", result.stderr, re.I) is not None


def deployed_names(group: str) -> tuple[str, str] | None:
    """The vault and app of the newest successful deployment of infra/main.bicep, if any."""
    listed = _json(
        az("deployment", "group", "list", "--resource-group", group, "--output", "json"),
        "listing the resource group's deployments",
    )
    found = []
    for deployment in listed or []:
        properties = deployment.get("properties") or {}
        outputs = properties.get("outputs") or {}
        if properties.get("provisioningState") != "Succeeded":
            continue
        if "keyVaultName" in outputs and "functionAppName" in outputs:
            names = (outputs["keyVaultName"]["value"], outputs["functionAppName"]["value"])
            found.append((str(properties.get("timestamp", "")), names))
    return max(found)[1] if found else None


def key_check(key: str) -> str:
    """48 bits of a salted hash of a 256-bit random key: says whether two copies are the same
    key, and nothing usable about the key to whoever can read the secret's tags."""
    return hashlib.sha256(f"dynamics-marketing-sync/key-vault/{key}".encode()).hexdigest()[:12]


def secret_check(group: str, vault: str) -> str | None:
    """The key check the secret was written with ("" when it has none); None: no secret."""
    result = az("resource", "show", "--resource-group", group, "--namespace",
                "Microsoft.KeyVault", "--parent", f"vaults/{vault}", "--resource-type",
                "secrets", "--name", SECRET, "--output", "json")  # fmt: skip
    if _not_found(result):
        return None
    secret = _json(result, f"reading the secret {SECRET} of the vault {vault}")
    return str(((secret or {}).get("tags") or {}).get("keyCheck", ""))


def function_key(group: str, app: str) -> tuple[str | None, str]:
    """The function key's value, or None and why it cannot be counted on."""
    result = az("functionapp", "function", "keys", "list", "--resource-group", group,
                "--name", app, "--function-name", FUNCTION, "--output", "json")  # fmt: skip
    if result.returncode != 0:
        # Not found (the function is not indexed) or the host not answering (an app that did
        # not start): either way the deploy must go on, and a new key is the way out.
        error = (result.stderr.strip().splitlines() or ["az failed"])[-1]
        return None, f"the keys of {FUNCTION} of {app} could not be read ({error[:200]})"
    keys = json.loads(result.stdout or "null")
    if isinstance(keys, dict) and keys.get(KEY_NAME):
        return str(keys[KEY_NAME]), ""
    return None, f"the function {FUNCTION} of {app} has no key {KEY_NAME}"


def plan(group: str, out: Path, *, rotate: bool) -> str:
    names = deployed_names(group)
    key: str | None = None
    if rotate:
        why = "rotation asked for"
    elif names is None:
        why = "first deployment"
    else:
        vault, app = names
        key, why = function_key(group, app)
        if key is not None:
            stored = secret_check(group, vault)
            if stored == key_check(key):
                return f"Webhook key kept: Key Vault secret {SECRET} and function key {KEY_NAME}"
            why = (
                f"the vault {vault} has no secret {SECRET}"
                if stored is None
                else f"the secret {SECRET} does not hold the function key's value"
            )
    taken = key is not None
    key = key or secrets.token_urlsafe(32)  # 256 bits; URL-safe, as it travels in ?code=
    _mask(key)
    document = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": {
        PARAMETER: {"value": key}, CHECK_PARAMETER: {"value": key_check(key)}}}  # fmt: skip
    # Owner-only from the start: the file holds the key until `apply` deletes it.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(document, file)
    if taken:
        return f"Webhook key: Key Vault takes the function key's value ({why})"
    return f"Webhook key: a new one ({why}); the deployment stores it in Key Vault as {SECRET}"


def apply(group: str, app: str, parameters: Path) -> str:
    if not parameters.exists():
        return "Webhook key unchanged"
    try:
        key = json.loads(parameters.read_text())["parameters"][PARAMETER]["value"]
        _mask(key)
        result = az("functionapp", "function", "keys", "set", "--resource-group", group,
                    "--name", app, "--function-name", FUNCTION, "--key-name", KEY_NAME,
                    "--key-value", key, "--output", "none")  # fmt: skip
        if _not_found(result):
            return (
                f"Webhook function key not set: the function {FUNCTION} is not indexed (the app "
                "did not start: the smoke check says why); the next run gives it a key"
            )
        if result.returncode != 0:
            raise Stop(
                f"setting the key {KEY_NAME} of {FUNCTION}: {result.stderr.strip()} (Key Vault "
                "holds the key already: re-run the job, which brings the two copies together)"
            )
    finally:
        parameters.unlink(missing_ok=True)
    return (
        f"Webhook key: function key {KEY_NAME} set to the key in Key Vault (a new one reaches "
        "Dataverse through the provision job: webhooks register)"
    )


def _mask(value: str) -> None:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::add-mask::{value}", flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    steps = parser.add_subparsers(dest="step", required=True)
    first = steps.add_parser("plan", help="before the deployment: a new key if one is needed")
    first.add_argument("--resource-group", required=True)
    first.add_argument("--out", type=Path, required=True, help="parameters file to write")
    first.add_argument("--rotate", action="store_true", help="replace the key even if it exists")
    second = steps.add_parser("apply", help="after the package: the function key, same value")
    second.add_argument("--resource-group", required=True)
    second.add_argument("--app", required=True)
    second.add_argument("--parameters", type=Path, required=True, help="the file plan wrote")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.step == "plan":
            print(plan(args.resource_group, args.out, rotate=args.rotate))
        else:
            print(apply(args.resource_group, args.app, args.parameters))
    except Stop as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
