"""The CLI's refusals as an operator reads them: each names a command that exists and runs, a
value's expected form, and what to type instead."""

from __future__ import annotations

import shlex

import pytest

from shared.accounts import EmailAccount
from shared.cli import app, environment
from shared.runtime import Runtime
from tests.cli.test_cli import BAD_INPUT, CONFLICT, error_line, invoke
from tests.fixtures.crm_fields import marketing_crm_fields


@pytest.fixture(autouse=True)
def _no_local_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "load_local_settings", lambda: None)
    monkeypatch.setattr(environment, "load_local_settings", lambda: None)


def command_in(line: str) -> list[str]:
    """The backticked command a message names, as words to run."""
    return shlex.split(line.split("`")[1])


def test_a_duplicate_mapping_names_the_delete_that_runs(
    runtime: Runtime, account: EmailAccount
) -> None:
    runtime.crm_fields.upsert("acme", marketing_crm_fields())
    assert invoke("labels", "add", "acme", "Job Role")[0] == 0
    add = ("mappings", "add", "acme", "Job Role", "--entity", "contact", "--field", "jobtitle")
    assert invoke(*add)[0] == 0

    code, out = invoke(*add)
    assert code == CONFLICT
    assert error_line(out) == (
        "Error: This mapping already exists: Job Role <-> contact.jobtitle (ToPlatform). To "
        "change it, delete it with `mappings delete acme 'Job Role' --entity contact`, then add "
        "the new one."
    )
    code, out = invoke(*command_in(out))
    assert code == 0, out
    assert invoke(*add)[0] == 0


def test_a_mapping_to_a_missing_label_names_the_commands_that_make_it(
    runtime: Runtime, account: EmailAccount
) -> None:
    code, out = invoke("mappings", "add", "acme", "TIER", "--entity", "contact", "--field", "x")
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: No CRM metadata is stored for account 'acme' yet: run "
        "`sync-now acme CrmMetadata` first."
    )
    runtime.crm_fields.upsert("acme", marketing_crm_fields())
    code, out = invoke("mappings", "add", "acme", "TIER", "--entity", "contact",
                       "--field", "jobtitle")  # fmt: skip
    assert code == BAD_INPUT
    assert error_line(out) == (
        "Error: There is no data label 'TIER': create it first with `labels add acme TIER`, or "
        "run `sync-now acme DataLabels` if it exists in Dotdigital."
    )
    assert invoke(*command_in(out))[0] == 0
    code, out = invoke("mappings", "add", "acme", "TIER", "--entity", "contact",
                       "--field", "jobtitle")  # fmt: skip
    assert code == 0, out
