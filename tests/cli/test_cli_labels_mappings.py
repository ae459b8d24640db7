"""`labels add | delete` and `mappings delete` as an operator types them: clear refusals that
name the command to run instead, and a way out of a label the platform refuses."""

from __future__ import annotations

import pytest

from shared.accounts import EmailAccount
from shared.mappings.model import MappedEntity, default_mappings
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel
from tests.cli.test_cli import BAD_INPUT, CONFLICT, NOT_FOUND, error_line, invoke
from tests.fixtures.crm_fields import marketing_crm_fields


@pytest.fixture
def acme_with_fields(runtime: Runtime, account: EmailAccount) -> Runtime:
    runtime.crm_fields.upsert("acme", marketing_crm_fields())
    return runtime


def test_a_label_without_a_name_is_one_line(runtime: Runtime, account: EmailAccount) -> None:
    for name in ("", "   "):
        code, out = invoke("labels", "add", "acme", name)
        assert code == BAD_INPUT
        assert error_line(out) == "Error: A data label needs a name, e.g. LOYALTYTIER."


def test_names_that_collide_are_refused_with_both_named(
    runtime: Runtime, account: EmailAccount
) -> None:
    assert invoke("labels", "add", "acme", "Loyalty Tier!")[0] == 0
    code, out = invoke("labels", "add", "acme", "loyalty tier?")
    assert code == CONFLICT
    assert error_line(out) == (
        "Error: The label name 'loyalty tier?' cannot be told apart from the existing label "
        "'Loyalty Tier!' (both are stored as LOYALTY_TIER_): choose another name."
    )
    code, out = invoke("labels", "add", "acme", "LOYALTY TIER!")
    assert code == CONFLICT and "already exists" in error_line(out)


def test_a_refused_label_is_deleted_as_the_way_out(runtime: Runtime, account: EmailAccount) -> None:
    runtime.data_labels.save("acme", DataLabel(name="Loyalty Tier!", last_error="refused"))
    code, out = invoke("labels", "delete", "acme", "loyalty tier!")
    assert code == 0, out
    assert "Deleted the label 'Loyalty Tier!'; it was never created on the platform." in out
    assert runtime.data_labels.for_account("acme") == []
    code, out = invoke("labels", "delete", "acme", "Loyalty Tier!")
    assert code == NOT_FOUND and "labels list acme" in error_line(out)


def test_a_label_in_use_names_the_mapping_to_delete_first(acme_with_fields: Runtime) -> None:
    assert invoke("labels", "add", "acme", "JOBROLE")[0] == 0
    code, out = invoke("mappings", "add", "acme", "JOBROLE", "--entity", "contact",
                       "--field", "jobtitle")  # fmt: skip
    assert code == 0, out

    code, out = invoke("labels", "delete", "acme", "JOBROLE")
    assert code == CONFLICT
    command = "mappings delete acme JOBROLE --entity contact"
    assert f"delete it first with `{command}`" in error_line(out)

    code, out = invoke(*command.split())  # the command the message names exists and works
    assert code == 0, out
    assert "Deleted JOBROLE <-> contact.jobtitle" in out
    assert invoke("labels", "delete", "acme", "JOBROLE")[0] == 0


def test_mappings_delete_refuses_email_and_names_an_unknown_one(
    runtime: Runtime, account: EmailAccount
) -> None:
    email = next(m for m in default_mappings() if m.entity is MappedEntity.CONTACT)
    runtime.mappings.create("acme", email)
    code, out = invoke("mappings", "delete", "acme", "EMAIL", "--entity", "contact")
    assert code == BAD_INPUT and "cannot be deleted" in error_line(out)
    code, out = invoke("mappings", "delete", "acme", "NOPE", "--entity", "lead")
    assert code == NOT_FOUND
    assert error_line(out) == (
        "Error: No lead mapping for the label 'NOPE' in account 'acme' (see `mappings list acme`)."
    )
