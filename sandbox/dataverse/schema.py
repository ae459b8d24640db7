"""Table definitions of the Dataverse sandbox: columns, keys, lookups, N:N relationships.

Names follow the product (CED/PAD entity references): entity sets `contacts`, `leads`,
`accounts`, `lists`, `listmembers`, `annotations`, `tasks`, `phonecalls`; primary ids
`contactid`, ... and `activityid` for every activity table; alternate key `emailaddress1` on
contact and lead; `statecode`/`statuscode` pairs as the references list them. A lookup column
`x` is read as `_x_value` and written with `<navigation>@odata.bind`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# Column kinds and the Edm type named in conversion errors.
EDM_TYPES = {
    "string": "Edm.String",
    "memo": "Edm.String",
    "int": "Edm.Int32",
    "bigint": "Edm.Int64",
    "bool": "Edm.Boolean",
    "decimal": "Edm.Decimal",
    "datetime": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
    "picklist": "Edm.Int32",
    "state": "Edm.Int32",
    "status": "Edm.Int32",
    "lookup": "Edm.Guid",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # a key of EDM_TYPES
    max_length: int | None = None
    read_only: bool = False
    # Written but never read back (IsValidForRead False, e.g. serviceendpoint.authvalue).
    write_only: bool = False


@dataclass(frozen=True)
class Lookup:
    """A single-valued navigation property: `<navigation>@odata.bind` writes `column`."""

    navigation: str
    column: str  # the lookup column; read as `_<column>_value`
    target: str  # logical name of the referenced table


@dataclass(frozen=True)
class ManyToMany:
    navigation: str  # same name on both sides (listcontact_association)
    other: str  # logical name of the other table


@dataclass
class TableDef:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    columns: dict[str, Column]
    states: dict[int, tuple[int, ...]] = field(default_factory=dict)  # statecode -> statuscodes
    default_status: dict[int, int] = field(default_factory=dict)
    alternate_keys: tuple[tuple[str, ...], ...] = ()
    lookups: dict[str, Lookup] = field(default_factory=dict)  # by navigation name
    many_to_many: dict[str, ManyToMany] = field(default_factory=dict)
    change_tracking: bool = True
    is_activity: bool = False
    # CreateMultiple / UpdateMultiple / UpsertMultiple: "Not all standard tables support these
    # messages" (PAD bulk-operations.md); the sandbox offers them on contact, lead, account, list.
    bulk_messages: bool = True
    # (singular, plural) display names of a table created through EntityDefinitions.
    display: tuple[str, str] | None = None

    @property
    def lookup_columns(self) -> dict[str, str]:
        """`_<column>_value` -> column, for every lookup column."""
        return {f"_{c.name}_value": c.name for c in self.columns.values() if c.kind == "lookup"}

    def readable(self) -> list[str]:
        """Column names as read (`_x_value` for lookups), in definition order."""
        return [
            f"_{c.name}_value" if c.kind == "lookup" else c.name
            for c in self.columns.values()
            if not c.write_only
        ]


def _columns(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


def common_columns(primary_id: str) -> list[Column]:
    return [
        Column(primary_id, "guid"),
        Column("createdon", "datetime", read_only=True),
        Column("modifiedon", "datetime", read_only=True),
        Column("versionnumber", "bigint", read_only=True),
        Column("ownerid", "lookup", read_only=True),
    ]


ACTIVE_INACTIVE: dict[int, tuple[int, ...]] = {0: (1,), 1: (2,)}

CONTACT = TableDef(
    logical_name="contact",
    entity_set="contacts",
    primary_id="contactid",
    primary_name="fullname",
    columns=_columns(
        *common_columns("contactid"),
        Column("firstname", "string", 50),
        Column("middlename", "string", 50),
        Column("lastname", "string", 50),
        Column("fullname", "string", 160, read_only=True),
        Column("salutation", "string", 100),
        Column("jobtitle", "string", 100),
        Column("emailaddress1", "string", 100),
        Column("emailaddress2", "string", 100),
        Column("telephone1", "string", 50),
        Column("mobilephone", "string", 50),
        Column("birthdate", "datetime"),
        Column("gendercode", "picklist"),
        Column("donotbulkemail", "bool"),
        Column("donotemail", "bool"),
        Column("donotphone", "bool"),
        Column("donotpostalmail", "bool"),
        Column("donotfax", "bool"),
        Column("address1_city", "string", 80),
        Column("address1_country", "string", 80),
        Column("address1_postalcode", "string", 20),
        Column("annualincome", "decimal"),
        Column("description", "memo", 2000),
        Column("parentcustomerid", "lookup"),
        Column("statecode", "state"),
        Column("statuscode", "status"),
    ),
    states=ACTIVE_INACTIVE,
    default_status={0: 1, 1: 2},
    alternate_keys=(("emailaddress1",),),
    lookups={
        "parentcustomerid_account": Lookup(
            "parentcustomerid_account", "parentcustomerid", "account"
        ),
        "parentcustomerid_contact": Lookup(
            "parentcustomerid_contact", "parentcustomerid", "contact"
        ),
    },
    many_to_many={"listcontact_association": ManyToMany("listcontact_association", "list")},
)

LEAD = TableDef(
    logical_name="lead",
    entity_set="leads",
    primary_id="leadid",
    primary_name="fullname",
    columns=_columns(
        *common_columns("leadid"),
        Column("subject", "string", 300),
        Column("firstname", "string", 50),
        Column("lastname", "string", 50),
        Column("fullname", "string", 160, read_only=True),
        Column("companyname", "string", 100),
        Column("jobtitle", "string", 100),
        Column("emailaddress1", "string", 100),
        Column("telephone1", "string", 50),
        Column("donotbulkemail", "bool"),
        Column("donotemail", "bool"),
        Column("address1_city", "string", 80),
        Column("address1_country", "string", 80),
        Column("leadsourcecode", "picklist"),
        Column("description", "memo", 2000),
        Column("parentcontactid", "lookup"),
        Column("parentaccountid", "lookup"),
        Column("statecode", "state"),
        Column("statuscode", "status"),
    ),
    # 0 Open (1 New, 2 Contacted), 1 Qualified (3), 2 Disqualified (4 Lost, 5 Cannot Contact,
    # 6 No Longer Interested, 7 Canceled).
    states={0: (1, 2), 1: (3,), 2: (4, 5, 6, 7)},
    default_status={0: 1, 1: 3, 2: 4},
    alternate_keys=(("emailaddress1",),),
    lookups={
        "parentcontactid": Lookup("parentcontactid", "parentcontactid", "contact"),
        "parentaccountid": Lookup("parentaccountid", "parentaccountid", "account"),
    },
    many_to_many={"listlead_association": ManyToMany("listlead_association", "list")},
)

ACCOUNT = TableDef(
    logical_name="account",
    entity_set="accounts",
    primary_id="accountid",
    primary_name="name",
    columns=_columns(
        *common_columns("accountid"),
        Column("name", "string", 160),
        Column("accountnumber", "string", 20),
        Column("emailaddress1", "string", 100),
        Column("telephone1", "string", 50),
        Column("fax", "string", 50),
        Column("websiteurl", "string", 200),
        Column("address1_city", "string", 80),
        Column("address1_country", "string", 80),
        Column("numberofemployees", "int"),
        Column("revenue", "decimal"),
        Column("donotbulkemail", "bool"),
        Column("donotemail", "bool"),
        Column("description", "memo", 2000),
        Column("primarycontactid", "lookup"),
        Column("statecode", "state"),
        Column("statuscode", "status"),
    ),
    states=ACTIVE_INACTIVE,
    default_status={0: 1, 1: 2},
    lookups={"primarycontactid": Lookup("primarycontactid", "primarycontactid", "contact")},
    many_to_many={"listaccount_association": ManyToMany("listaccount_association", "list")},
)

LIST_STATES: dict[int, tuple[int, ...]] = {0: (0,), 1: (1,)}

LIST = TableDef(
    logical_name="list",
    entity_set="lists",
    primary_id="listid",
    primary_name="listname",
    columns=_columns(
        *common_columns("listid"),
        Column("listname", "string", 128),
        Column("type", "bool"),  # false static, true dynamic
        Column("createdfromcode", "picklist"),  # 1 account, 2 contact, 4 lead
        Column("membertype", "int"),
        Column("membercount", "int", read_only=True),
        Column("query", "memo", 1_048_576),
        Column("purpose", "string", 512),
        Column("description", "memo", 2000),
        Column("lockstatus", "bool"),
        Column("donotsendonoptout", "bool"),
        Column("ignoreinactivelistmembers", "bool"),
        Column("statecode", "state"),
        Column("statuscode", "status"),
        # The connector's own columns come with its solution (connector_schema.py).
    ),
    states=LIST_STATES,
    default_status={0: 0, 1: 1},
    many_to_many={
        "listcontact_association": ManyToMany("listcontact_association", "contact"),
        "listlead_association": ManyToMany("listlead_association", "lead"),
        "listaccount_association": ManyToMany("listaccount_association", "account"),
    },
)

LISTMEMBER = TableDef(
    logical_name="listmember",
    entity_set="listmembers",
    primary_id="listmemberid",
    primary_name="listmemberid",
    columns=_columns(
        *common_columns("listmemberid"),
        Column("listid", "lookup", read_only=True),
        Column("entityid", "lookup", read_only=True),
        Column("entitytype", "string", 64, read_only=True),
    ),
    bulk_messages=False,
)

ANNOTATION = TableDef(
    logical_name="annotation",
    entity_set="annotations",
    primary_id="annotationid",
    primary_name="subject",
    columns=_columns(
        *common_columns("annotationid"),
        Column("subject", "string", 500),
        Column("notetext", "memo", 100_000),
        Column("isdocument", "bool"),
        Column("filename", "string", 255),
        Column("objecttypecode", "string", 64, read_only=True),
        Column("objectid", "lookup"),
    ),
    lookups={
        f"objectid_{target}": Lookup(f"objectid_{target}", "objectid", target)
        for target in ("contact", "lead", "account")
    },
    change_tracking=False,
    bulk_messages=False,
)

ACTIVITY_STATES: dict[int, tuple[int, ...]] = {
    0: (2, 3, 4, 7),
    1: (5,),
    2: (6,),
}  # task: Open, Completed, Canceled


def activity_table(
    logical_name: str,
    entity_set: str | None = None,
    *,
    extra: tuple[Column, ...] = (),
    states: dict[int, tuple[int, ...]] | None = None,
    default_status: dict[int, int] | None = None,
) -> TableDef:
    """An activity table (task, phonecall, a custom one): `activityid`, `subject`, and the
    entity-suffixed regarding navigation `regardingobjectid_<table>_<activity>`."""
    return TableDef(
        logical_name=logical_name,
        entity_set=entity_set or logical_name + "s",
        primary_id="activityid",
        primary_name="subject",
        columns=_columns(
            *common_columns("activityid"),
            Column("subject", "string", 200),
            Column("description", "memo", 2000),
            Column("scheduledstart", "datetime"),
            Column("scheduledend", "datetime"),
            Column("actualend", "datetime"),
            Column("prioritycode", "picklist"),
            Column("activitytypecode", "string", 64, read_only=True),
            Column("regardingobjectid", "lookup"),
            *extra,
            Column("statecode", "state"),
            Column("statuscode", "status"),
        ),
        states=states or ACTIVITY_STATES,
        default_status=default_status or {0: 2, 1: 5, 2: 6},
        lookups={
            f"regardingobjectid_{target}_{logical_name}": Lookup(
                f"regardingobjectid_{target}_{logical_name}", "regardingobjectid", target
            )
            for target in ("contact", "lead", "account")
        },
        change_tracking=False,
        is_activity=True,
        bulk_messages=False,
    )


TASK = activity_table("task", extra=(Column("percentcomplete", "int"),))
PHONECALL_STATES: dict[int, tuple[int, ...]] = {0: (1,), 1: (2, 4), 2: (3,)}
PHONECALL = activity_table(
    "phonecall",
    extra=(Column("phonenumber", "string", 200), Column("directioncode", "bool")),
    states=PHONECALL_STATES,
    default_status={0: 1, 1: 2, 2: 3},
)


def standard_tables() -> dict[str, TableDef]:
    """Fresh copies of an org's tables before the connector's solution (a state may switch
    change tracking off, or add columns, on its own copy)."""
    return {
        t.logical_name: replace(
            t,
            columns=dict(t.columns),
            lookups=dict(t.lookups),
            many_to_many=dict(t.many_to_many),
        )
        for t in (CONTACT, LEAD, ACCOUNT, LIST, LISTMEMBER, ANNOTATION, TASK, PHONECALL)
    }
