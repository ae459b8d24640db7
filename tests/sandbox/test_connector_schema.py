"""The Dataverse sandbox's installed connector solution is the product's definition: same
tables, entity sets, columns, kinds and lookup targets (so tests against the sandbox exercise
the tables `python -m shared dataverse provision` creates)."""

from __future__ import annotations

from sandbox.dataverse.connector_schema import ADDED_COLUMNS, OPTION_SETS, connector_tables
from shared.dynamics_schema import COLUMN_ADDITIONS, TABLES, ColumnDef, Kind

SANDBOX_KINDS = {
    Kind.STRING: "string",
    Kind.MEMO: "memo",
    Kind.BOOLEAN: "bool",
    Kind.DATETIME: "datetime",
    Kind.INTEGER: "int",
    Kind.PICKLIST: "picklist",
    Kind.LOOKUP: "lookup",
}


def _shape(column: ColumnDef) -> tuple[str, str, int | None]:
    return (column.logical_name, SANDBOX_KINDS[column.kind], column.max_length)


def test_the_sandbox_installs_exactly_the_products_tables() -> None:
    sandbox = connector_tables()
    assert set(sandbox) == {t.logical_name for t in TABLES}
    for table in TABLES:
        mirror = sandbox[table.logical_name]
        assert mirror.entity_set == table.entity_set
        assert mirror.primary_id == table.primary_id
        assert mirror.primary_name == table.primary_name.logical_name
        assert mirror.is_activity is table.activity
        own = [
            c
            for c in mirror.columns.values()
            if (c.name.startswith("dms_") and c.name != mirror.primary_id)
            or c.name == table.primary_name.logical_name
        ]
        assert sorted((c.name, c.kind, c.max_length) for c in own) == sorted(
            _shape(c) for c in (table.primary_name, *table.columns)
        )
        lookups = {c.logical_name: c.target for c in table.columns if c.kind is Kind.LOOKUP}
        # An activity's regarding lookups come with the platform's activity columns.
        assert {
            nav: lk.target for nav, lk in mirror.lookups.items() if lk.column != "regardingobjectid"
        } == lookups
        if table.activity:
            assert {lk.target for lk in mirror.lookups.values()} == {"contact", "lead", "account"}


def test_the_sandbox_adds_exactly_the_products_columns() -> None:
    assert sorted((table, c.name, c.kind, c.max_length) for table, c in ADDED_COLUMNS) == sorted(
        (a.table, *_shape(a.column)) for a in COLUMN_ADDITIONS
    )


def test_the_sandbox_has_exactly_the_products_choices() -> None:
    products = {
        (table.logical_name, column.logical_name): [(o.value, o.label) for o in column.options]
        for table in TABLES
        for column in table.columns
        if column.kind is Kind.PICKLIST
    }
    products.update(
        {
            (addition.table, addition.column.logical_name): [
                (o.value, o.label) for o in addition.column.options
            ]
            for addition in COLUMN_ADDITIONS
            if addition.column.kind is Kind.PICKLIST
        }
    )
    assert products == OPTION_SETS
