"""Every checkov check infra/ or the workflows skip is one of the agreed few, next to its resource
(its workflow), with a reason.

`make checkov` (in .ci/run) fails on any finding that is not skipped; these skips are the
template's documented exceptions, so a new one is a decision to review here, not a comment
that slips in.
"""

from __future__ import annotations

import re

from tests.infra.test_bicep import INFRA

SKIP = re.compile(r"checkov:skip=(?P<id>[A-Z0-9_]+)(?::(?P<reason>.*))?")

# check id -> the resources (Bicep symbols) it is skipped on.
AGREED = {
    "CKV_AZURE_43": {"storage"},  # computed name, checkov cannot evaluate it
    # Set on both secrets; checkov does not read the body of a conditional resource.
    "CKV_AZURE_41": {"dataverseSecret", "webhookKeySecret"},
    "CKV_AZURE_114": {"dataverseSecret", "webhookKeySecret"},
    "CKV_AZURE_225": {"plan"},  # zone redundancy is a parameter, off by default (cost)
    "CKV_AZURE_222": {"functionApp"},  # Dataverse webhooks and the admin API come from outside
    "CKV_AZURE_17": {"functionApp"},  # Dataverse cannot present client certificates
    "CKV_AZURE_212": {"functionApp"},  # numberOfWorkers does not apply to Flex Consumption
    "CKV_AZURE_213": {"functionApp"},  # Flex Consumption has no App Service health check
}

# check id -> the workflows (.github/workflows/) it is skipped in.
AGREED_WORKFLOWS = {
    # workflow_dispatch inputs could change a build; this one is read by the deploy job only.
    "CKV_GHA_7": {"deploy.yml"},
}

RESOURCE = re.compile(r"^resource (\w+) ")
WORKFLOWS = INFRA.parent / ".github" / "workflows"


def skips() -> dict[tuple[str, str], str]:
    """(check id, the resource whose body holds the skip) -> the reason."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(INFRA.rglob("*.bicep")):
        current = ""
        for line in path.read_text().splitlines():
            if start := RESOURCE.match(line):
                current = start[1]
            if match := SKIP.search(line):
                assert line.lstrip().startswith("//"), f"not a comment: {line}"
                key = (match["id"], current)
                assert key not in found, f"{match['id']} skipped twice on {current}"
                found[key] = (match["reason"] or "").strip()
    return found


def test_only_the_agreed_checks_are_skipped_each_on_its_resources() -> None:
    found: dict[str, set[str]] = {}
    for check, resource in skips():
        found.setdefault(check, set()).add(resource)
    assert found == AGREED


def workflow_skips() -> dict[tuple[str, str], str]:
    """(check id, workflow file) -> the reason."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(WORKFLOWS.glob("*.y*ml")):
        for line in path.read_text().splitlines():
            if match := SKIP.search(line):
                assert line.lstrip().startswith("#"), f"not a comment: {line}"
                found[(match["id"], path.name)] = (match["reason"] or "").strip()
    return found


def test_only_the_agreed_checks_are_skipped_in_the_workflows() -> None:
    found: dict[str, set[str]] = {}
    for check, workflow in workflow_skips():
        found.setdefault(check, set()).add(workflow)
    assert found == AGREED_WORKFLOWS


def test_every_skip_gives_its_reason() -> None:
    for (check, where), reason in {**skips(), **workflow_skips()}.items():
        assert len(reason.split()) >= 6, f"{check} on {where}: say why ({reason!r})"
