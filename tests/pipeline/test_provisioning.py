"""Provisioning the connector's tables against the Dataverse sandbox: a bare org ends up with
exactly the tables, columns, choices and relationships the sandbox has installed; a second run
creates nothing; a dry run only lists; a run cut short is finished by the next one."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dataverse import DataverseState
from shared.clients.dataverse.client import DataverseClient
from shared.clients.retry import RetryPolicy
from shared.dynamics_schema import COLUMN_ADDITIONS, TABLES
from shared.errors import RetriesExhausted
from shared.pipeline.provisioning import ProvisioningError, provision
from tests.fixtures.sandboxes import DataverseClientFactory, DataverseSandbox

SOLUTION = "DynamicsMarketingSync"
METADATA_POSTS = ("EntityDefinitions", "RelationshipDefinitions")


def table_shapes(state: DataverseState) -> dict[str, Any]:
    """What the Web API does with each table: set, keys, columns (kind, length), lookups,
    change tracking, states."""
    return {
        name: (
            d.entity_set,
            d.primary_id,
            d.primary_name,
            d.change_tracking,
            d.states,
            d.default_status,
            d.bulk_messages,
            {c.name: (c.kind, c.max_length, c.read_only) for c in d.columns.values()},
            {nav: (lk.column, lk.target) for nav, lk in d.lookups.items()},
        )
        for name, d in ((name, t.definition) for name, t in state.tables.items())
    }


def metadata_view(client: DataverseClient, state: DataverseState) -> dict[str, Any]:
    """Columns and choice labels as the metadata reads show them, for every table."""
    view: dict[str, Any] = {}
    for name in sorted(state.tables):
        path = f"EntityDefinitions(LogicalName='{name}')/Attributes"
        columns, _ = client.transport.get_json(
            path, operation="test", params={"$select": "LogicalName,AttributeType"}
        )
        choices, _ = client.transport.get_json(
            f"{path}/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            operation="test",
            params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
        )
        view[name] = (
            sorted((c["LogicalName"], c["AttributeType"]) for c in columns["value"]),
            {
                c["LogicalName"]: [
                    (o["Value"], o["Label"]["UserLocalizedLabel"]["Label"])
                    for o in c["OptionSet"]["Options"]
                ]
                for c in choices["value"]
            },
        )
    return view


def api_posts(state: DataverseState) -> int:
    """Web API POSTs (not the token endpoint's)."""
    return sum(1 for call in state.counters.calls("POST") if call.template.startswith("/api/"))


def metadata_posts(state: DataverseState) -> int:
    return sum(
        1
        for call in state.counters.calls("POST", server="dataverse")
        if any(name in call.template for name in METADATA_POSTS)
    )


@pytest.fixture
def installed(dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient) -> Any:
    """The installed sandbox's shapes, then a bare org to provision."""
    state = dataverse_sandbox.state
    shapes = (
        table_shapes(state),
        metadata_view(dataverse_client, state),
        dict(state.relationships),
    )
    state.reset(connector_solution=False)
    return shapes


def test_provisioning_a_bare_org_creates_exactly_the_installed_solution(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, installed: Any
) -> None:
    state = dataverse_sandbox.state
    assert table_shapes(state) != installed[0]
    lines: list[str] = []

    outcome = provision(dataverse_client, SOLUTION, progress=lines.append)

    assert table_shapes(state) == installed[0]
    assert metadata_view(dataverse_client, state) == installed[1]
    assert state.relationships == installed[2]
    # Progress: one numbered line per step, in the documented order.
    total = len(outcome.plan.steps)
    assert total == len(lines) == len(outcome.created)
    assert (
        lines[0]
        == f"[1/{total}] created publisher dynamicsmarketingsync (customization prefix dms)"
    )
    assert lines[1] == f"[2/{total}] created solution {SOLUTION}"
    kinds = [step.kind for step in outcome.plan.steps]
    assert kinds == sorted(kinds, key=["publisher", "solution", "table", "column", "lookup"].index)
    assert any(
        "column contact.dms_optintype (Picklist: Unknown, Single, Double, VerifiedDouble)" in line
        for line in lines
    )
    # Everything went into the connector's solution.
    components = state.solution_components[SOLUTION]
    assert len(components) == len(set(components)) == total - 2


def test_a_second_run_creates_nothing_and_says_so(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, installed: Any
) -> None:
    provision(dataverse_client, SOLUTION)
    state = dataverse_sandbox.state
    posts = metadata_posts(state)

    again = provision(dataverse_client, SOLUTION)

    assert again.plan.steps == [] and metadata_posts(state) == posts
    columns = sum(len(t.columns) + 1 for t in TABLES) + len(COLUMN_ADDITIONS)
    assert again.summary == (
        f"Nothing to create: the connector's {len(TABLES)} tables and {columns} columns "
        "already exist in "
        f"{dataverse_client.org_url} (solution {SOLUTION})."
    )


def test_the_installed_sandbox_needs_nothing(dataverse_client: DataverseClient) -> None:
    assert provision(dataverse_client, SOLUTION, dry_run=True).plan.steps == []


def test_a_dry_run_lists_the_steps_and_creates_nothing(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, installed: Any
) -> None:
    state = dataverse_sandbox.state
    before = table_shapes(state)
    lines: list[str] = []

    outcome = provision(dataverse_client, SOLUTION, dry_run=True, progress=lines.append)

    assert table_shapes(state) == before and outcome.created == []
    assert api_posts(state) == 0
    # Publisher, solution, each table, each column but the tables' primary names.
    columns = sum(len(t.columns) for t in TABLES) + len(COLUMN_ADDITIONS)
    assert len(lines) == len(outcome.plan.steps) == 2 + len(TABLES) + columns
    assert "would create table dms_emailsuppression (Email Suppression, entity set " \
        "dms_emailsuppressions)" in lines[2]  # fmt: skip


def test_a_run_cut_short_is_finished_by_the_next_without_duplicates(
    dataverse_sandbox: DataverseSandbox,
    make_dataverse_client: DataverseClientFactory,
    sandbox_clock: Any,
    installed: Any,
) -> None:
    state = dataverse_sandbox.state
    no_retries = RetryPolicy(max_retries=0, sleep=sandbox_clock.sleep, clock=sandbox_clock.now)
    client = make_dataverse_client(retry=no_retries)

    def fail_after_the_third(line: str) -> None:
        if line.startswith("[3/"):
            state.faults.fail_next(503)

    with pytest.raises(RetriesExhausted):
        provision(client, SOLUTION, progress=fail_after_the_third)
    assert len(state.solution_components[SOLUTION]) == 1  # solution, publisher, one table

    # A write that happened but whose answer was lost: resent, found done, not doubled.
    retrying = make_dataverse_client()
    lines: list[str] = []

    def lose_the_second_answer(line: str) -> None:
        lines.append(line)
        if line.startswith("[1/"):
            state.faults.lose_response_next()

    provision(retrying, SOLUTION, progress=lose_the_second_answer)

    assert table_shapes(state) == installed[0]
    assert lines[1].startswith(f"[2/{len(lines)}] found (already created) table ")
    components = state.solution_components[SOLUTION]
    assert len(components) == len(set(components))
    assert provision(retrying, SOLUTION).plan.steps == []


def test_missing_privileges_say_which_role_to_assign(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, installed: Any
) -> None:
    dataverse_sandbox.state.deny_customization = True
    with pytest.raises(ProvisioningError, match="needs the System Customizer role"):
        provision(dataverse_client, SOLUTION)


def test_a_solution_of_another_publisher_is_refused_before_any_write(
    dataverse_sandbox: DataverseSandbox, dataverse_client: DataverseClient, installed: Any
) -> None:
    state = dataverse_sandbox.state
    publisher = state.tables["publisher"].by_key(("uniquename",), ("DefaultPublisher",))
    assert publisher is not None
    state.insert(
        "solution",
        {"uniquename": "Theirs", "friendlyname": "Theirs", "version": "1.0",
         "publisherid@odata.bind": f"/publishers({publisher.id})"},
    )  # fmt: skip
    with pytest.raises(ProvisioningError, match=r"prefix 'new'.*DATAVERSE_SOLUTION"):
        provision(dataverse_client, "Theirs")
    assert api_posts(state) == 0
