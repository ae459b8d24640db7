"""The shape of a table or column the connector owns in Dynamics, as plain data: what the
provisioning command turns into Web API metadata requests, and what the sync types name when
they read and write those rows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Column kinds the connector uses (each maps to one AttributeMetadata type)."""

    STRING = "String"  # StringAttributeMetadata, max_length required
    MEMO = "Memo"  # MemoAttributeMetadata, max_length required
    BOOLEAN = "Boolean"  # BooleanAttributeMetadata, labels "Yes"/"No"
    DATETIME = "DateTime"  # DateTimeAttributeMetadata, UTC (DateAndTime, UserLocal)
    INTEGER = "Integer"  # IntegerAttributeMetadata
    PICKLIST = "Picklist"  # PicklistAttributeMetadata with a local option set
    LOOKUP = "Lookup"  # created with its one-to-many relationship (RelationshipDefinitions)


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class ColumnDef:
    """One column. `logical_name` is lower case with the publisher prefix; for a lookup it is
    also the navigation property that writes it (`dms_contactid@odata.bind`) and it reads as
    `_dms_contactid_value`."""

    logical_name: str
    kind: Kind
    label: str
    description: str = ""
    max_length: int | None = None  # String and Memo
    options: tuple[Option, ...] = ()  # Picklist
    target: str | None = None  # Lookup: the referenced table's logical name
    required: bool = False

    @property
    def read_name(self) -> str:
        """The property a Web API read returns for this column."""
        return f"_{self.logical_name}_value" if self.kind is Kind.LOOKUP else self.logical_name

    @property
    def bind_name(self) -> str:
        """The property a write sets: `<nav>@odata.bind` for a lookup."""
        if self.kind is not Kind.LOOKUP:
            raise ValueError(f"{self.logical_name} is not a lookup column")
        return f"{self.logical_name}@odata.bind"


@dataclass(frozen=True)
class TableDefinition:
    """A custom table: organization-owned, with change tracking on (the sync types read their
    increments through delta links). An activity table (`activity`) is user-owned, keyed by
    `activityid`, named by `subject` and linked to its record by `regardingobjectid`, all of
    which Dataverse adds itself."""

    logical_name: str
    entity_set: str  # the Web API collection (EntitySetName)
    display_name: str
    plural_name: str
    description: str
    primary_name: ColumnDef  # a String column, IsPrimaryName
    columns: tuple[ColumnDef, ...]
    activity: bool = False

    @property
    def primary_id(self) -> str:
        return "activityid" if self.activity else f"{self.logical_name}id"

    def regarding_bind(self, target: str) -> str:
        """The navigation property that sets an activity's regarding record of `target`."""
        if not self.activity:
            raise ValueError(f"{self.logical_name} is not an activity table")
        return f"regardingobjectid_{target}_{self.logical_name}@odata.bind"

    def column(self, logical_name: str) -> ColumnDef:
        for column in (self.primary_name, *self.columns):
            if column.logical_name == logical_name:
                return column
        raise KeyError(f"{self.logical_name} has no column {logical_name}")


@dataclass(frozen=True)
class ColumnAddition:
    """A connector column on a table the connector does not own (contact, lead, account,
    list)."""

    table: str
    column: ColumnDef
