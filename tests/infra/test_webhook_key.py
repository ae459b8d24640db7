"""The deploy job's webhook key (.ci/webhook_key.py) against a stand-in `az` that keeps a resource
group's state in a file: a new key on the first deployment, the same key kept afterwards, a
rotation on request, Key Vault brought back to the function key's value (which Dataverse has)
when it lost or changed it, a new key when the function key is gone, and the key never
printed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "webhook_key.py"
RG = "rg-dmsync"
VAULT, APP = "kvdmsync", "func-dmsync"

# A stand-in for the few `az` commands the script runs. State: {"deployments": [...],
# "secrets": {vault: {name: {"value", "tags"}}}, "functions": {app: {function: {key: value}}}}.
# A template deployment stores dynamicsWebhookKey as the secret, its check as the secret's tag
# keyCheck, as infra/main.bicep does. Like Azure, `resource show` never returns the value.
FAKE_AZ = r"""#!PYTHON
import json, os, sys
state_path = os.environ["FAKE_AZ_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
def opt(name):
    return args[args.index(name) + 1]
def save():
    json.dump(state, open(state_path, "w"))
def not_found(what):
    # az words it either way, by command.
    if args[0] == "resource":
        sys.stderr.write(f"(ResourceNotFound) {what} was not found.\n")
    else:
        sys.stderr.write("ERROR: Operation returned an invalid status 'Not Found'\n")
    sys.exit(3)
if args[:3] == ["deployment", "group", "list"]:
    print(json.dumps(state["deployments"]))
elif args[:2] == ["resource", "show"]:
    vault = opt("--parent").split("/", 1)[1]
    secret = state["secrets"].get(vault, {}).get(opt("--name"))
    if secret is None:
        not_found(opt("--name"))
    print(json.dumps({"name": opt("--name"), "tags": secret["tags"]}))
elif args[:4] == ["functionapp", "function", "keys", "list"]:
    if state.get("host_down"):
        sys.stderr.write("ERROR: (BadRequest) ServiceUnavailable from host runtime.\n")
        sys.exit(1)
    functions = state["functions"].get(opt("--name"), {})
    if opt("--function-name") not in functions:
        not_found(opt("--function-name"))
    print(json.dumps(functions[opt("--function-name")]))
elif args[:4] == ["functionapp", "function", "keys", "set"]:
    if state.get("fail_set"):
        sys.stderr.write("ERROR: conflict\n"); sys.exit(1)
    functions = state["functions"].get(opt("--name"), {})
    if opt("--function-name") not in functions:
        not_found(opt("--function-name"))
    functions[opt("--function-name")][opt("--key-name")] = opt("--key-value")
    save()
else:
    sys.stderr.write(f"fake az: unexpected {args}\n"); sys.exit(2)
"""


@pytest.fixture
def azure(tmp_path: Path) -> dict[str, Any]:
    """An empty resource group (no deployment yet), the fake `az` first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "az"
    fake.write_text(FAKE_AZ.replace("#!PYTHON", f"#!{sys.executable}", 1))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    state: dict[str, Any] = {"deployments": [], "secrets": {}, "functions": {}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    return {"tmp": tmp_path, "bin": bin_dir}


def _state(azure: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((azure["tmp"] / "state.json").read_text())
    return loaded


def _edit(azure: dict[str, Any], **changes: Any) -> None:
    (azure["tmp"] / "state.json").write_text(json.dumps({**_state(azure), **changes}))


def _run(azure: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{azure['bin']}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AZ_STATE": str(azure["tmp"] / "state.json"),
        "FAKE_AZ_LOG": str(azure["tmp"] / "calls.log"),
        "GITHUB_ACTIONS": "true",
    }
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def _deploy(azure: dict[str, Any], parameters: Path) -> None:
    """What `az deployment group create` with infra/main.bicep does to the state."""
    state = _state(azure)
    outputs = {"keyVaultName": {"value": VAULT}, "functionAppName": {"value": APP}}
    state["deployments"].append({"name": "dynamics-marketing-sync-1", "properties": {
        "provisioningState": "Succeeded", "timestamp": "2026-11-28T05:00:00Z",
        "outputs": outputs}})  # fmt: skip
    if parameters.exists():
        given = json.loads(parameters.read_text())["parameters"]
        state["secrets"].setdefault(VAULT, {})["dynamics-webhook-key"] = {
            "value": given["dynamicsWebhookKey"]["value"],
            "tags": {"application": "dynamics-marketing-sync",
                     "keyCheck": given["dynamicsWebhookKeyCheck"]["value"]},
        }  # fmt: skip
    state["functions"].setdefault(APP, {}).setdefault("dynamics_webhook", {})  # indexed
    _edit(azure, **state)


def _deploy_job(azure: dict[str, Any], *plan_args: str) -> tuple[str, str]:
    """plan, the template deployment, then apply, as the deploy job runs them."""
    out = azure["tmp"] / "webhook-key.json"
    planned = _run(azure, "plan", "--resource-group", RG, "--out", str(out), *plan_args)
    assert planned.returncode == 0, planned.stderr
    _deploy(azure, out)
    applied = _run(azure, "apply", "--resource-group", RG, "--app", APP, "--parameters", str(out))
    assert applied.returncode == 0, applied.stderr
    assert not out.exists()  # the key does not outlive the job's steps
    return planned.stdout + applied.stdout, planned.stderr + applied.stderr


def _halves(azure: dict[str, Any]) -> tuple[str | None, str | None]:
    state = _state(azure)
    secret = state["secrets"].get(VAULT, {}).get("dynamics-webhook-key", {}).get("value")
    key = state["functions"].get(APP, {}).get("dynamics_webhook", {}).get("dynamics-webhook")
    return secret, key


def _printed_without_mask(output: str, key: str) -> bool:
    return any(key in line and not line.startswith("::add-mask::") for line in output.splitlines())


def test_the_first_deployment_makes_one_key_for_the_vault_and_the_function(
    azure: dict[str, Any],
) -> None:
    output, errors = _deploy_job(azure)

    secret, key = _halves(azure)
    assert secret and secret == key and len(secret) >= 40
    assert "a new one (first deployment)" in output
    assert f"::add-mask::{secret}" in output.splitlines()[0]  # masked before anything else
    assert not _printed_without_mask(output + errors, secret)


def test_a_later_deployment_keeps_the_key_and_writes_nothing(azure: dict[str, Any]) -> None:
    _deploy_job(azure)
    before = _halves(azure)
    (azure["tmp"] / "calls.log").unlink()

    output, _ = _deploy_job(azure)

    assert _halves(azure) == before
    assert "Webhook key kept" in output and "Webhook key unchanged" in output
    calls = (azure["tmp"] / "calls.log").read_text()
    assert '"set"' not in calls


def test_a_rotation_replaces_both_halves_with_one_new_key(azure: dict[str, Any]) -> None:
    _deploy_job(azure)
    old, _ = _halves(azure)

    output, _ = _deploy_job(azure, "--rotate")

    secret, key = _halves(azure)
    assert secret == key and secret != old
    assert "a new one (rotation asked for)" in output


def test_a_lost_function_key_gets_a_new_key_for_both(azure: dict[str, Any]) -> None:
    # The secret's value cannot be read from the job, so it cannot be copied back.
    _deploy_job(azure)
    old, _ = _halves(azure)
    state = _state(azure)
    del state["functions"][APP]["dynamics_webhook"]["dynamics-webhook"]
    _edit(azure, **state)

    output, _ = _deploy_job(azure)

    secret, key = _halves(azure)
    assert secret == key and secret != old
    assert "a new one (the function dynamics_webhook of func-dmsync has no key" in output


@pytest.mark.parametrize("damage", ["secret deleted", "secret set by hand", "secret untagged"])
def test_key_vault_gets_the_function_key_back_which_dataverse_already_has(
    azure: dict[str, Any], damage: str
) -> None:
    # E.g. a deploy that stored a new key and stopped before giving the function its key, or
    # a secret written by hand (without the tag the job writes).
    _deploy_job(azure)
    _, dataverse_has = _halves(azure)
    state = _state(azure)
    secrets = state["secrets"][VAULT]
    if damage == "secret deleted":
        del secrets["dynamics-webhook-key"]
    elif damage == "secret set by hand":
        secrets["dynamics-webhook-key"]["value"] = "typed-in-the-portal"
        secrets["dynamics-webhook-key"]["tags"]["keyCheck"] = "0123456789ab"
    else:
        secrets["dynamics-webhook-key"]["tags"] = {}
    _edit(azure, **state)

    output, errors = _deploy_job(azure)

    assert _halves(azure) == (dataverse_has, dataverse_has)
    assert "Key Vault takes the function key's value" in output
    assert not _printed_without_mask(output + errors, str(dataverse_has))


def test_a_failed_function_key_write_stops_the_job_and_deletes_the_key_file(
    azure: dict[str, Any],
) -> None:
    out = azure["tmp"] / "webhook-key.json"
    assert _run(azure, "plan", "--resource-group", RG, "--out", str(out)).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    _deploy(azure, out)
    _edit(azure, fail_set=True)

    result = _run(azure, "apply", "--resource-group", RG, "--app", APP, "--parameters", str(out))

    assert result.returncode == 1
    assert result.stderr.startswith("Error: setting the key dynamics-webhook of dynamics_webhook")
    assert "re-run the job" in result.stderr
    assert not out.exists()


def test_the_script_names_what_the_template_and_the_app_declare() -> None:
    from pycep import BicepParser

    from tests.infra.test_bicep import MAIN, app_settings, body, resolve, resources_of_type

    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import webhook_key
    finally:
        sys.path.remove(str(ROOT / ".ci"))
    main = BicepParser().parse(file_path=MAIN)
    written = {
        resolve(main, body(r)["name"]): body(r)["properties"]["value"]
        for r in resources_of_type(main, "Microsoft.KeyVault/vaults/secrets").values()
    }
    assert written[webhook_key.SECRET] == webhook_key.PARAMETER
    [secret] = [
        body(r) for r in resources_of_type(main, "Microsoft.KeyVault/vaults/secrets").values()
        if resolve(main, body(r)["name"]) == webhook_key.SECRET
    ]  # fmt: skip
    # The tag the script reads back is written with the value, from the check it computed.
    tags = secret["tags"]["function"]["parameters"]
    assert tags["arg_2"] == {"keyCheck": webhook_key.CHECK_PARAMETER}
    assert f"SecretName={webhook_key.SECRET})" in app_settings(main)["DYNAMICS_WEBHOOK_KEY"]
    # The function is named after its Python function (functions/webhooks.py).
    assert f"def {webhook_key.FUNCTION}(" in (ROOT / "functions" / "webhooks.py").read_text()


def test_an_app_that_did_not_start_gets_a_new_key_on_the_next_run(azure: dict[str, Any]) -> None:
    # First deploy without the Dataverse secret: the app does not start, so the function is
    # not indexed and cannot get its key. The run says so; the re-run makes a new key for both.
    out = azure["tmp"] / "webhook-key.json"
    assert _run(azure, "plan", "--resource-group", RG, "--out", str(out)).returncode == 0
    _deploy(azure, out)
    state = _state(azure)
    del state["functions"][APP]["dynamics_webhook"]  # not indexed
    _edit(azure, **state)

    first = _run(azure, "apply", "--resource-group", RG, "--app", APP, "--parameters", str(out))

    assert first.returncode == 0, first.stderr
    assert "Webhook function key not set: the function dynamics_webhook is not indexed" in (
        first.stdout
    )
    assert not out.exists()
    stored, _ = _halves(azure)
    output, _ = _deploy_job(azure)  # the re-run, the app now starts
    secret, key = _halves(azure)
    assert secret == key and secret != stored
    assert "a new one (the keys of dynamics_webhook of func-dmsync could not be read" in output


def test_a_host_that_does_not_answer_does_not_stop_the_deploy(azure: dict[str, Any]) -> None:
    # The keys come from the host; an app that is down must still get its deployment (which
    # restarts it), so the plan goes on with a new key instead of failing.
    _deploy_job(azure)
    _edit(azure, host_down=True)
    out = azure["tmp"] / "webhook-key.json"

    result = _run(azure, "plan", "--resource-group", RG, "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert "could not be read (ERROR: (BadRequest) ServiceUnavailable" in result.stdout
    assert out.exists()
