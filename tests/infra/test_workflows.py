"""The workflows' structure (.github/workflows/), read as GitHub reads it. In every workflow:
each action pinned by commit SHA, checkouts without the token. In deploy.yml: OIDC only (no
secret), least permissions, the approval environment before anything touches Azure, what-if
before the deployment and a smoke check after it, and a provisioning job with an identity of
its own. GitHub itself only runs them on a push or a pull request; these checks keep them from
rotting between runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
MAIN_BICEP = ROOT / "infra" / "main.bicep"
SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?P<rest>.*)$")

Workflow = dict[str, Any]


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    loaded: Workflow = yaml.safe_load(DEPLOY.read_text())
    return loaded


def _steps(workflow: Workflow, job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return steps


def _index(steps: list[dict[str, Any]], predicate: Any) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert len(found) == 1, [steps[i].get("name") for i in found]
    return found[0]


def _runs(step: dict[str, Any], text: str) -> bool:
    return text in str(step.get("run", ""))


def test_the_workflows_are_ci_and_deploy() -> None:
    # A new workflow is covered by the pin checks below without being listed here; this
    # only makes sure the glob finds the files at all.
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version_in_a_comment(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        match = SHA_PIN.match(line)
        assert match, line
        assert re.fullmatch(r"[0-9a-f]{40}", match["ref"]), f"not a commit SHA: {line.strip()}"
        assert re.fullmatch(r"\s+# v\d+(\.\d+)*", match["rest"]), f"no version comment: {line}"


def test_the_same_action_is_pinned_to_one_commit_in_every_workflow() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if match := SHA_PIN.match(line):
                pins.setdefault(match["action"].lower(), set()).add(match["ref"])
    assert {action: refs for action, refs in pins.items() if len(refs) > 1} == {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_keep_the_token(path: Path) -> None:
    """The job token stays out of .git/config, where any later step could read it."""
    loaded = yaml.safe_load(path.read_text())
    for name, job in loaded["jobs"].items():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, name


def test_no_secret_is_used_and_azure_login_is_oidc_only(workflow: Workflow) -> None:
    assert "secrets." not in DEPLOY.read_text()
    logins = [
        (name, step)
        for name, job in workflow["jobs"].items()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("azure/login@")
    ]
    assert {name for name, _ in logins} == {"what-if", "deploy", "provision"}
    for _, step in logins:
        assert set(step["with"]) == {"client-id", "tenant-id", "subscription-id"}
        assert all(str(v).startswith("${{ vars.") for v in step["with"].values())


def test_permissions_are_read_only_but_for_the_oidc_token_of_the_jobs_that_sign_in(
    workflow: Workflow,
) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        signs_in = any(str(s.get("uses", "")).startswith("azure/login@") for s in job["steps"])
        expected = {"contents": "read", "id-token": "write"} if signs_in else None
        assert job.get("permissions") == expected, name


def test_deployments_wait_for_the_production_environment_and_run_one_at_a_time(
    workflow: Workflow,
) -> None:
    jobs = workflow["jobs"]
    assert jobs["deploy"]["environment"]["name"] == "production"
    assert jobs["what-if"]["environment"] == "production-what-if"  # shown before approval
    assert jobs["provision"]["environment"] == "dataverse-provisioning"
    assert "environment" not in jobs["build"]  # building needs no approval and no Azure
    assert jobs["what-if"]["needs"] == "build"
    assert jobs["deploy"]["needs"] == ["build", "what-if"]
    assert jobs["provision"]["needs"] == "deploy"
    assert workflow["concurrency"]["cancel-in-progress"] is False
    # `on` is read by YAML 1.1 as True; GitHub reads the key `on`.
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["workflow_run"]["workflows"] == ["CI"]
    assert triggers["workflow_run"]["branches"] == ["main"]
    assert "success" in jobs["build"]["if"] and "push" in jobs["build"]["if"]


def test_the_package_is_built_from_the_runtime_requirements_only(workflow: Workflow) -> None:
    build = _steps(workflow, "build")
    package = _index(build, lambda s: _runs(s, ".ci/package_app.py"))
    install = _index(build, lambda s: _runs(s, "pip install"))
    assert package < install
    assert "-r requirements.txt" in build[install]["run"]
    assert not [s for s in build if _runs(s, "requirements-dev")]
    upload = build[_index(build, lambda s: "upload-artifact" in str(s.get("uses", "")))]
    assert "dist/functions.json" in upload["with"]["path"]  # what the smoke check expects


def test_what_if_is_shown_before_approval_and_deploys_the_same_parameters(
    workflow: Workflow,
) -> None:
    plan = _steps(workflow, "what-if")
    login = _index(plan, lambda s: str(s.get("uses", "")).startswith("azure/login@"))
    write = _index(plan, lambda s: _runs(s, ".ci/infra_parameters.py dist/main.parameters.json"))
    what_if = _index(plan, lambda s: _runs(s, "az deployment group what-if"))
    upload = _index(plan, lambda s: "upload-artifact" in str(s.get("uses", "")))
    assert login < write < what_if < upload
    assert (
        '.ci/what_if_summary.py dist/what-if.json | tee -a "$GITHUB_STEP_SUMMARY"'
        in (plan[what_if]["run"])
    )
    assert plan[upload]["with"]["path"] == "dist/main.parameters.json"

    deploy = _steps(workflow, "deploy")
    download = _index(deploy, lambda s: s.get("with", {}).get("name") == "infra-parameters")
    create = _index(deploy, lambda s: _runs(s, "az deployment group create"))
    package = _index(deploy, lambda s: _runs(s, "config-zip"))
    smoke = _index(deploy, lambda s: _runs(s, ".ci/smoke_check.py"))
    assert download < create < package < smoke
    assert not [s for s in deploy if _runs(s, "infra_parameters.py")]  # not written again
    for step in (plan[what_if], deploy[create]):
        assert "--parameters @dist/main.parameters.json" in step["run"]
        assert "--template-file infra/main.bicep" in step["run"]


def test_the_smoke_check_lists_the_functions_checks_health_and_one_account(
    workflow: Workflow,
) -> None:
    steps = _steps(workflow, "deploy")
    smoke = steps[-1]
    wait = _index(steps, lambda s: _runs(s, "az functionapp function list"))
    assert "> dist/listed.json" in steps[wait]["run"]
    assert "--functions-listed dist/listed.json" in smoke["run"]
    assert "--functions-expected dist/functions.json" in smoke["run"]
    assert "--account" in smoke["run"]
    # The key reaches the script through the environment, masked, never on a command line.
    find = next(s for s in _steps(workflow, "deploy") if s.get("id") == "app")
    assert "::add-mask::$key" in find["run"]
    assert "SMOKE_FUNCTION_KEY=$key" in find["run"]


def test_a_new_webhook_key_reaches_key_vault_before_the_app_starts_then_the_function_key(
    workflow: Workflow,
) -> None:
    steps = _steps(workflow, "deploy")
    plan = _index(steps, lambda s: _runs(s, ".ci/webhook_key.py plan"))
    create = _index(steps, lambda s: _runs(s, "az deployment group create"))
    package = _index(steps, lambda s: _runs(s, "config-zip"))
    wait = _index(steps, lambda s: _runs(s, "az functionapp function list"))
    apply = _index(steps, lambda s: _runs(s, ".ci/webhook_key.py apply"))
    smoke = _index(steps, lambda s: _runs(s, ".ci/smoke_check.py"))
    assert plan < create < package < wait < apply < smoke
    # The key travels in a file of the runner's temp dir, never in an artifact or a variable.
    key_file = '"$RUNNER_TEMP/webhook-key.json"'
    assert key_file in steps[plan]["run"] and key_file in steps[apply]["run"]
    assert '--parameters "@$RUNNER_TEMP/webhook-key.json"' in steps[create]["run"]
    # Rotation is asked for by hand only (Run workflow), never by a push.
    assert steps[plan]["env"]["ROTATE"] == "${{ inputs.rotate-webhook-key }}"
    triggers = workflow.get("on", workflow.get(True))
    rotate = triggers["workflow_dispatch"]["inputs"]["rotate-webhook-key"]
    assert (rotate["type"], rotate["default"]) == ("boolean", False)
    # The smoke check gets the function key masked, through the environment.
    assert "::add-mask::$key" in steps[apply]["run"]
    assert "SMOKE_WEBHOOK_KEY=$key" in steps[apply]["run"]


def test_provisioning_uses_its_own_identity_and_only_idempotent_commands(
    workflow: Workflow,
) -> None:
    steps = _steps(workflow, "provision")
    login = next(s for s in steps if str(s.get("uses", "")).startswith("azure/login@"))
    assert login["with"]["client-id"] == "${{ vars.DATAVERSE_PROVISIONER_CLIENT_ID }}"
    commands = [s["run"] for s in steps if "python -m shared" in str(s.get("run", ""))]
    assert commands == [
        "python -m shared --settings env dataverse provision",
        'python -m shared --settings env webhooks register --url "https://$HOST/api/dynamics/webhook"',
    ]
    settings = next(s for s in steps if _runs(s, "DATAVERSE_CREDENTIAL=AzureCli"))
    assert "::add-mask::$key" in settings["run"]


def test_run_scripts_take_values_from_env_not_from_expressions(workflow: Workflow) -> None:
    """${{ }} inside a script is pasted into the shell before it runs (script injection)."""
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            assert "${{" not in str(step.get("run", "")), (name, step.get("name"))


def test_scripts_the_workflow_runs_exist_and_the_deploy_checkout_includes_them(
    workflow: Workflow,
) -> None:
    text = DEPLOY.read_text()
    for script in set(re.findall(r"\.ci/[\w.]+\.py", text)):
        assert (ROOT / script).is_file(), script
    for job in ("what-if", "deploy"):
        checkout = _steps(workflow, job)[0]
        assert set(checkout["with"]["sparse-checkout"].split()) == {"infra", ".ci"}, job


def test_the_named_template_parameters_exist_in_main_bicep() -> None:
    declared = set(re.findall(r"^param (\w+)", MAIN_BICEP.read_text(), re.MULTILINE))
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import infra_parameters
    finally:
        sys.path.remove(str(ROOT / ".ci"))
    assert set(infra_parameters.NAMED.values()) <= declared
    assert declared >= infra_parameters.REFUSED  # still the secure parameter's name


def _write(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "infra_parameters.py"), str(tmp_path / "p.json")],
        env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


VARIABLES = {"BASE_NAME": "dmsync", "DATAVERSE_URL": "https://contoso.crm4.dynamics.com",
             "DATAVERSE_CLIENT_ID": "11111111-1111-1111-1111-111111111111"}  # fmt: skip


def test_the_parameters_file_carries_the_variables_and_extra_parameters(tmp_path: Path) -> None:
    result = _write(tmp_path, {**VARIABLES, "INFRA_PARAMETERS": '{"maximumInstanceCount": 4}'})

    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "p.json").read_text())
    assert document["parameters"] == {
        "baseName": {"value": "dmsync"},
        "dataverseUrl": {"value": "https://contoso.crm4.dynamics.com"},
        "dataverseClientId": {"value": "11111111-1111-1111-1111-111111111111"},
        "maximumInstanceCount": {"value": 4},
    }


def test_the_provisioning_identity_gets_its_roles_once_its_object_id_is_a_variable(
    tmp_path: Path, workflow: Workflow
) -> None:
    object_id = "22222222-2222-2222-2222-222222222222"
    result = _write(tmp_path, {**VARIABLES, "DATAVERSE_PROVISIONER_OBJECT_ID": object_id})

    assert result.returncode == 0, result.stderr
    parameters = json.loads((tmp_path / "p.json").read_text())["parameters"]
    assert parameters["provisionerObjectId"] == {"value": object_id}
    write = next(s for s in _steps(workflow, "what-if") if _runs(s, "infra_parameters.py"))
    assert write["env"]["DATAVERSE_PROVISIONER_OBJECT_ID"] == (
        "${{ vars.DATAVERSE_PROVISIONER_OBJECT_ID }}"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BASE_NAME": ""}, "Error: the variable BASE_NAME is empty: set it on the GitHub "
         "environment"),
        ({"INFRA_PARAMETERS": "[1]"}, "Error: INFRA_PARAMETERS must be a JSON object"),
        ({"INFRA_PARAMETERS": "{"}, "Error: INFRA_PARAMETERS is not JSON"),
        ({"INFRA_PARAMETERS": '{"dataverseClientSecret": "x"}'},
         "Error: INFRA_PARAMETERS may not set dataverseClientSecret"),
        ({"INFRA_PARAMETERS": '{"dynamicsWebhookKey": "x"}'},
         "Error: INFRA_PARAMETERS may not set dynamicsWebhookKey"),
        ({"INFRA_PARAMETERS": '{"baseName": "other"}'},
         "Error: INFRA_PARAMETERS sets baseName; set BASE_NAME instead"),
    ],
)  # fmt: skip
def test_a_missing_or_wrong_variable_stops_before_any_deployment(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = _write(tmp_path, {**VARIABLES, **env})

    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert not (tmp_path / "p.json").exists()


RG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dmsync"
WHAT_IF = {
    "status": "Succeeded",
    "error": None,
    "changes": [
        {"resourceId": f"{RG}/providers/Microsoft.Web/sites/func-dmsync", "changeType": "Modify",
         "delta": [{"path": "properties.siteConfig", "propertyChangeType": "Modify",
                    "children": [{"path": "http20Enabled", "propertyChangeType": "Modify",
                                  "before": False, "after": True}]},
                   {"path": "tags.note", "propertyChangeType": "NoEffect"}]},
        {"resourceId": f"{RG}/providers/Microsoft.Insights/actionGroups/ag-dmsync",
         "changeType": "Create"},
        {"resourceId": f"{RG}/providers/Microsoft.ServiceBus/namespaces/sb-dmsync/queues/old",
         "changeType": "Delete"},
        {"resourceId": f"{RG}/providers/Microsoft.KeyVault/vaults/kvdmsync",
         "changeType": "NoChange"},
    ],
}  # fmt: skip


def _summary(tmp_path: Path, result: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "what-if.json").write_text(json.dumps(result))
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "what_if_summary.py"), str(tmp_path / "what-if.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_what_if_summary_puts_deletions_first_and_names_changed_properties(
    tmp_path: Path,
) -> None:
    result = _summary(tmp_path, WHAT_IF)

    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")][1:]
    assert rows == [
        "| **Delete** :warning: | Microsoft.ServiceBus/namespaces/queues | sb-dmsync/old |  |",
        "| Modify | Microsoft.Web/sites | func-dmsync | `properties.siteConfig.http20Enabled` |",
        "| Create | Microsoft.Insights/actionGroups | ag-dmsync |  |",
    ]
    assert "1 Delete, 1 Modify, 1 Create" in result.stdout


def test_a_what_if_without_changes_or_with_an_error_says_so(tmp_path: Path) -> None:
    quiet = _summary(tmp_path, {"status": "Succeeded", "changes": [], "error": None})
    error = {"code": "InvalidTemplate", "message": "bad"}
    failed = _summary(tmp_path, {"status": "Failed", "changes": None, "error": error})

    assert quiet.returncode == 0
    assert "No change to any resource." in quiet.stdout
    assert failed.returncode == 1
    assert "InvalidTemplate: bad" in failed.stdout
