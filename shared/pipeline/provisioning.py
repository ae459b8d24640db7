"""Provisioning: create the connector's tables and columns (shared/dynamics_schema) in a
Dynamics org through the Web API metadata endpoints. A plan compares what the org has with the
definitions; its steps run in order (publisher, solution, tables, columns, lookups); a second
run finds nothing to create and says so, and a run cut short is finished by the next one.

Publishing: nothing to publish. Microsoft's "Publish customizations" page says
"Customizations are automatically published when new items are created or existing items are
deleted"; only *updates* of definitions need PublishXml (create-update-entity-definitions-
using-web-api.md), and provisioning only creates. So the Web API can write the new tables as
soon as their create call has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.clients.dataverse import customization
from shared.clients.dataverse.client import DataverseClient
from shared.clients.dataverse.transport import DataverseTransport
from shared.dynamics_schema import (
    COLUMN_ADDITIONS,
    PREFIX,
    TABLES,
    ColumnDef,
    Kind,
    TableDefinition,
)
from shared.errors import ApiError, ConfigurationError, FatalError

PUBLISHER_PREFIX = PREFIX.rstrip("_")
PUBLISHER_UNIQUE_NAME = "dynamicsmarketingsync"
# Choice values a maker adds in this publisher's tables start at prefix x 10,000; the
# connector's own choices name their values explicitly.
PUBLISHER_OPTION_VALUE_PREFIX = 72700
CUSTOMIZER_ROLE_HINT = (
    "the application user needs the System Customizer role (or System Administrator) to create "
    "tables: in the Power Platform admin center open the environment, Settings > Users + "
    "permissions > Application users, select the connector's app and Edit security roles"
)


class ProvisioningError(FatalError):
    """Provisioning cannot go on; the message says what to do."""


@dataclass
class Context:
    """What the steps share while they run (ids learnt from earlier steps)."""

    client: DataverseClient
    solution: str
    publisher_id: str | None = None

    @property
    def transport(self) -> DataverseTransport:
        return self.client.transport


@dataclass(frozen=True)
class Step:
    kind: str  # publisher, solution, table, column, lookup
    description: str
    run: Callable[[Context], bool]  # False: it was there already (a resent write)


@dataclass
class Plan:
    org_url: str
    solution: str
    steps: list[Step] = field(default_factory=list)
    present_tables: int = 0
    present_columns: int = 0


@dataclass
class Outcome:
    plan: Plan
    created: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if not self.plan.steps:
            return (
                f"Nothing to create: the connector's {self.plan.present_tables} tables and "
                f"{self.plan.present_columns} columns already exist in {self.plan.org_url} "
                f"(solution {self.plan.solution})."
            )
        return (
            f"Created {len(self.created)} of {len(self.plan.steps)} definitions in "
            f"{self.plan.org_url} (solution {self.plan.solution})."
        )


def _describe(column: ColumnDef) -> str:
    if column.kind is Kind.LOOKUP:
        return f"lookup to {column.target}"
    if column.max_length is not None:
        return f"{column.kind.value}({column.max_length})"
    if column.options:
        return f"{column.kind.value}: {', '.join(o.label for o in column.options)}"
    return column.kind.value


def _publisher_step() -> Step:
    def run(context: Context) -> bool:
        context.publisher_id = customization.create_publisher(
            context.transport,
            PUBLISHER_UNIQUE_NAME,
            PUBLISHER_PREFIX,
            PUBLISHER_OPTION_VALUE_PREFIX,
        )
        return True

    return Step(
        "publisher",
        f"publisher {PUBLISHER_UNIQUE_NAME} (customization prefix {PUBLISHER_PREFIX})",
        run,
    )


def _solution_step(solution: str) -> Step:
    def run(context: Context) -> bool:
        if context.publisher_id is None:  # the publisher existed before this run
            found = customization.find_publisher(context.transport, PUBLISHER_PREFIX)
            if found is None:
                raise ProvisioningError(f"the {PUBLISHER_PREFIX} publisher disappeared; re-run")
            context.publisher_id = found.id
        customization.create_solution(context.transport, solution, context.publisher_id)
        return True

    return Step("solution", f"solution {solution}", run)


def _check_solution(context: Context, publisher_id: str | None) -> None:
    prefix = (
        customization.publisher_prefix(context.transport, publisher_id) if publisher_id else None
    )
    if prefix != PUBLISHER_PREFIX:
        raise ProvisioningError(
            f"Solution {context.solution} belongs to a publisher with the customization prefix "
            f"'{prefix}', but the connector's tables and columns are named {PREFIX}...: set "
            f"DATAVERSE_SOLUTION to a solution of the {PUBLISHER_PREFIX} publisher, or to a new "
            "name (provision creates it)"
        )


def build_plan(client: DataverseClient, solution: str) -> Plan:
    """Read what the org has; the steps that would create the rest, in the order they run."""
    context = Context(client, solution)
    transport = client.transport
    plan = Plan(client.org_url, solution)
    publisher = customization.find_publisher(transport, PUBLISHER_PREFIX)
    if publisher is None:
        plan.steps.append(_publisher_step())
    existing_solution = customization.find_solution(transport, solution)
    if existing_solution is None:
        plan.steps.append(_solution_step(solution))
    else:
        _check_solution(context, existing_solution.publisher_id)
    tables = customization.table_names(transport)
    columns: dict[str, dict[str, str]] = {}

    def existing(table: str) -> dict[str, str]:
        if table not in columns:
            columns[table] = customization.column_types(transport, table) if table in tables else {}
        return columns[table]

    column_steps: list[Step] = []
    lookup_steps: list[Step] = []

    def want(table: str, column: ColumnDef) -> None:
        found = existing(table).get(column.logical_name)
        expected = customization.ATTRIBUTE_TYPES[column.kind]
        if found is not None:
            if found != expected:
                raise ProvisioningError(
                    f"{table}.{column.logical_name} exists as a {found} column, but the "
                    f"connector needs a {expected} column; delete or rename that column in "
                    "Dynamics, then run `python -m shared dataverse provision` again"
                )
            plan.present_columns += 1
            return
        what = f"column {table}.{column.logical_name} ({_describe(column)})"
        if column.kind is Kind.LOOKUP:
            lookup_steps.append(Step("lookup", what, _lookup_run(table, column)))
        else:
            column_steps.append(Step("column", what, _column_run(table, column)))

    for definition in TABLES:
        if definition.logical_name in tables:
            plan.present_tables += 1
            want(definition.logical_name, definition.primary_name)
        else:
            plan.steps.append(
                Step(
                    "table",
                    f"table {definition.logical_name} ({definition.display_name}, "
                    f"entity set {definition.entity_set})",
                    _table_run(definition),
                )
            )
        for column in definition.columns:
            want(definition.logical_name, column)
    for addition in COLUMN_ADDITIONS:
        if addition.table not in tables:
            raise ProvisioningError(
                f"the org has no {addition.table} table; the connector needs Dynamics 365 "
                "Sales or Marketing (contact, lead, account and marketing list)"
            )
        want(addition.table, addition.column)
    plan.steps.extend(column_steps)
    plan.steps.extend(lookup_steps)
    return plan


def _table_run(table: TableDefinition) -> Callable[[Context], bool]:
    return lambda c: customization.create_table(c.transport, table, c.solution)


def _column_run(table: str, column: ColumnDef) -> Callable[[Context], bool]:
    return lambda c: customization.create_column(c.transport, table, column, c.solution)


def _lookup_run(table: str, column: ColumnDef) -> Callable[[Context], bool]:
    return lambda c: customization.create_lookup(c.transport, table, column, c.solution)


def _explain(error: ApiError) -> ApiError | ProvisioningError:
    if error.status == 403:
        return ProvisioningError(f"Dataverse refused the metadata write: {CUSTOMIZER_ROLE_HINT}")
    return error


def provision(
    client: DataverseClient,
    solution: str,
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> Outcome:
    """Create what is missing (nothing with `dry_run`), reporting each step to `progress`."""
    if not solution:
        raise ConfigurationError("DATAVERSE_SOLUTION is empty: name the solution to create in")
    try:
        plan = build_plan(client, solution)
    except ApiError as error:
        raise _explain(error) from error
    outcome = Outcome(plan)
    total = len(plan.steps)
    if dry_run:
        for number, step in enumerate(plan.steps, 1):
            progress(f"[{number}/{total}] would create {step.description}")
        return outcome
    context = Context(client, solution)
    for number, step in enumerate(plan.steps, 1):
        try:
            created = step.run(context)
        except ApiError as error:
            raise _explain(error) from error
        verb = "created" if created else "found (already created)"
        progress(f"[{number}/{total}] {verb} {step.description}")
        outcome.created.append(step.description)
    return outcome
