"""The connector's own tables and columns, as an org has them once `python -m shared dataverse
provision` has run (shared/dynamics_schema/connector.py is the product's side of this; a test
keeps the two equal). The sandbox starts with them installed.

Custom tables have `statecode` 0 Active / 1 Inactive and their lookups' navigation property is
the lookup column's logical name (`dms_contactid@odata.bind`, read as `_dms_contactid_value`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.dataverse.adobe_activities import adobe_activity_tables
from sandbox.dataverse.schema import ACTIVE_INACTIVE, Column, Lookup, TableDef

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState

# Columns the connector adds to tables it does not own: (table, column).
ADDED_COLUMNS: tuple[tuple[str, Column], ...] = (
    ("list", Column("dms_emailaccountid", "string", 100)),
    ("list", Column("dms_emailactivated", "bool")),
    ("list", Column("dms_membershipaction", "picklist")),
    ("contact", Column("dms_optintype", "picklist")),
    ("lead", Column("dms_optintype", "picklist")),
    ("account", Column("dms_optintype", "picklist")),
    *(
        (table, column)
        for table in ("contact", "lead")
        for column in (
            Column("dms_score", "int"),
            Column("dms_scorelabel", "string", 100),
            Column("dms_scoreengagement", "int"),
            Column("dms_scoresuitability", "int"),
            Column("dms_scoremodifiedon", "datetime"),
        )
    ),
)


# The choices of the connector's picklist columns: (table, column) -> [(value, label)].
_OPT_IN = [(1, "Unknown"), (2, "Single"), (3, "Double"), (4, "VerifiedDouble")]
_MEMBERSHIP = [
    (1, "Ignore new and existing address book members not in this marketing list"),
    (2, "Remove address book members not in this marketing list"),
    (3, "Allow only known contacts to be added to this marketing list"),
    (4, "Only allow known leads to be added to this marketing list"),
    (5, "Allow known leads or create new leads if no match found"),
]
OPTION_SETS: dict[tuple[str, str], list[tuple[int, str]]] = {
    ("contact", "dms_optintype"): _OPT_IN,
    ("lead", "dms_optintype"): _OPT_IN,
    ("account", "dms_optintype"): _OPT_IN,
    ("list", "dms_membershipaction"): _MEMBERSHIP,
    ("dms_emailsuppression", "dms_resubscriptionstatus"): [
        (1, "ContactAdded"),
        (2, "ContactChallenged"),
        (3, "ContactCannotBeUnsuppressed"),
    ],
    ("dms_emailsuppression", "dms_source"): [(1, "Email platform"), (2, "Dynamics")],
    ("dms_webpageview", "dms_source"): [(1, "Email campaign"), (2, "WebInsight")],
    ("dms_emailsend", "dms_status"): [
        (1, "Requested"),
        (2, "Synchronising List"),
        (3, "Sending"),
        (4, "Sent"),
        (5, "Refused"),
        (6, "Failed"),
    ],
    ("dms_programenrolment", "dms_status"): [
        (1, "Requested"),
        (2, "Enrolling"),
        (3, "Enrolled"),
        (4, "Refused"),
        (5, "Failed"),
    ],
}
# Labels of the columns added to the seeded tables (their metadata lists them).
_ADDED_LABELS = {
    "dms_optintype": "Opt-in Type",
    "dms_score": "Score",
    "dms_scorelabel": "Score Label",
    "dms_scoreengagement": "Engagement Score",
    "dms_scoresuitability": "Suitability Score",
    "dms_scoremodifiedon": "Score Modified On",
}
_ATTRIBUTE_TYPES = {
    "picklist": "Picklist",
    "string": "String",
    "bool": "Boolean",
    "int": "Integer",
    "datetime": "DateTime",
}


def relationship_name(referencing: str, lookup: str) -> str:
    """The one-to-many relationship behind a connector lookup: `<table>_<lookup column>`
    (the provisioning command names its relationships the same way)."""
    return f"{referencing}_{lookup}"


def relationship(referencing: TableDef, lookup: Lookup, referenced: TableDef) -> dict[str, Any]:
    return {
        "SchemaName": relationship_name(referencing.logical_name, lookup.column),
        "ReferencedEntity": referenced.logical_name,
        "ReferencedAttribute": referenced.primary_id,
        "ReferencingEntity": referencing.logical_name,
        "ReferencingAttribute": lookup.column,
        "ReferencingEntityNavigationPropertyName": lookup.navigation,
    }


def install_metadata(state: DataverseState) -> None:
    """The metadata side of the installed solution: the added columns in the seeded column
    metadata, the choices, and the relationships behind the lookups."""
    for table, column in ADDED_COLUMNS:
        if table in state.attributes:  # seeded metadata; other tables derive theirs
            state.add_attribute(
                table, column.name, _ATTRIBUTE_TYPES[column.kind], _ADDED_LABELS.get(column.name)
            )
    state.option_sets.update({key: list(options) for key, options in OPTION_SETS.items()})
    for custom in connector_tables().values():
        for lookup in custom.lookups.values():
            if lookup.column == "regardingobjectid":
                continue  # an activity's own relationships: the platform's, not the solution's
            found = relationship(custom, lookup, state.tables[lookup.target].definition)
            state.relationships[found["SchemaName"]] = found


def _custom_table(logical_name: str, primary_name: Column, *columns: Column) -> TableDef:
    primary_id = f"{logical_name}id"
    all_columns = [
        Column(primary_id, "guid"),
        Column("createdon", "datetime", read_only=True),
        Column("modifiedon", "datetime", read_only=True),
        Column("versionnumber", "bigint", read_only=True),
        Column("createdby", "lookup", read_only=True),  # who asked (Mapped Users Only)
        primary_name,
        *columns,
        Column("statecode", "state"),
        Column("statuscode", "status"),
    ]
    lookups = {
        c.name: Lookup(c.name, c.name, _target(c.name)) for c in columns if c.kind == "lookup"
    }
    return TableDef(
        logical_name=logical_name,
        entity_set=logical_name + "s",
        primary_id=primary_id,
        primary_name=primary_name.name,
        columns={c.name: c for c in all_columns},
        states=ACTIVE_INACTIVE,
        default_status={0: 1, 1: 2},
        lookups=lookups,
    )


_STANDARD = frozenset({"contact", "lead", "account", "list"})


def _target(lookup: str) -> str:
    """`dms_contactid` -> contact; `dms_marketingpreferenceid` -> the connector's own table."""
    name = lookup.removeprefix("dms_").removesuffix("id")
    return name if name in _STANDARD else "dms_" + name


def install(tables: dict[str, TableDef]) -> None:
    """The connector's solution on an org's tables (fresh copies: see standard_tables)."""
    for table, column in ADDED_COLUMNS:
        tables[table].columns[column.name] = column
    tables.update(connector_tables())


def connector_tables() -> dict[str, TableDef]:
    email = Column("dms_email", "string", 100)
    account = Column("dms_emailaccountid", "string", 100)
    tables = [
        _custom_table(
            "dms_emailsuppression",
            email,
            Column("dms_suppressedon", "datetime"),
            Column("dms_reason", "string", 100),
            account,
            Column("dms_contactid", "lookup"),
            Column("dms_leadid", "lookup"),
            Column("dms_requestresubscribe", "bool"),
            Column("dms_resubscriptionstatus", "picklist"),
            Column("dms_resubscriptiondetail", "string", 500),
            Column("dms_source", "picklist"),
        ),
        _custom_table(
            "dms_listunsubscriber",
            email,
            Column("dms_unsubscribedon", "datetime"),
            Column("dms_listid", "lookup"),
            Column("dms_contactid", "lookup"),
            Column("dms_leadid", "lookup"),
            account,
        ),
        _custom_table(
            "dms_marketingpreference",
            Column("dms_name", "string", 200),
            Column("dms_privatename", "string", 200),
            Column("dms_platformid", "int"),
            Column("dms_category", "string", 200),
            Column("dms_ispublic", "bool"),
            account,
            Column("dms_iscategory", "bool"),
        ),
        _custom_table(
            "dms_marketingpreferencesubscription",
            Column("dms_name", "string", 300),
            Column("dms_marketingpreferenceid", "lookup"),
            Column("dms_contactid", "lookup"),
            Column("dms_leadid", "lookup"),
            Column("dms_accountid", "lookup"),
            Column("dms_email", "string", 100),
            account,
            Column("dms_optedin", "bool"),
            Column("dms_lastmodified", "datetime"),
            Column("dms_syncedoptedin", "bool"),
        ),
        *_engagement_tables(email, account),
        *adobe_activity_tables(account),
    ]
    return {t.logical_name: t for t in tables}


def _engagement_tables(email: Column, account: Column) -> list[TableDef]:
    """Campaigns, behaviour, sends, enrolments and forms (shared/dynamics_schema/engagement.py)."""
    name = Column("dms_name", "string", 300)
    url = Column("dms_url", "string", 1000)
    campaign = Column("dms_emailcampaignid", "lookup")
    platform_id = Column("dms_platformid", "int")
    targets = (
        Column("dms_contactid", "lookup"),
        Column("dms_leadid", "lookup"),
        Column("dms_accountid", "lookup"),
    )
    optional_email = Column("dms_email", "string", 100)
    counts = ("dms_numsent", "dms_numdelivered", "dms_numuniqueopens", "dms_numuniqueclicks")
    more_counts = ("dms_numpageviews", "dms_numunsubscribes", "dms_numhardbounces")
    return [
        _custom_table(
            "dms_emailcampaign",
            Column("dms_name", "string", 200),
            platform_id,
            account,
            Column("dms_subject", "string", 400),
            Column("dms_fromname", "string", 200),
            Column("dms_fromaddress", "string", 200),
            Column("dms_status", "string", 50),
            Column("dms_datesent", "datetime"),
            *(Column(c, "int") for c in (*counts, *more_counts, "dms_numsoftbounces")),
            Column("dms_lastsyncedon", "datetime"),
        ),
        _custom_table(
            "dms_emailsendsummary",
            name,
            campaign,
            *targets,
            optional_email,
            account,
            Column("dms_datesent", "datetime"),
            Column("dms_datefirstopened", "datetime"),
            Column("dms_datelastopened", "datetime"),
            Column("dms_numopens", "int"),
            Column("dms_numclicks", "int"),
            Column("dms_numpageviews", "int"),
            Column("dms_unsubscribed", "bool"),
            Column("dms_softbounced", "bool"),
            Column("dms_hardbounced", "bool"),
        ),
        _custom_table(
            "dms_emailclick",
            url,
            campaign,
            *targets,
            optional_email,
            account,
            Column("dms_clickedon", "datetime"),
        ),
        _custom_table(
            "dms_webpageview",
            url,
            campaign,
            *targets,
            optional_email,
            account,
            Column("dms_viewedon", "datetime"),
            Column("dms_durationseconds", "int"),
            Column("dms_source", "picklist"),
        ),
        _custom_table(
            "dms_emailroidetail",
            Column("dms_markername", "string", 200),
            campaign,
            *targets,
            optional_email,
            account,
            Column("dms_datatype", "string", 50),
            Column("dms_value", "string", 500),
            Column("dms_enteredon", "datetime"),
        ),
        _custom_table(
            "dms_socialbookmark",
            Column("dms_name", "string", 200),
            campaign,
            *targets,
            optional_email,
            account,
            Column("dms_numviews", "int"),
        ),
        _custom_table(
            "dms_emailsend",
            name,
            campaign,
            Column("dms_listid", "lookup"),
            account,
            Column("dms_status", "picklist"),
            Column("dms_requestedon", "datetime"),
            Column("dms_senton", "datetime"),
            Column("dms_platformsendid", "string", 100),
            Column("dms_message", "string", 1000),
        ),
        _custom_table(
            "dms_programenrolment",
            name,
            Column("dms_programid", "int"),
            Column("dms_programname", "string", 200),
            targets[0],
            targets[1],
            optional_email,
            account,
            Column("dms_status", "picklist"),
            Column("dms_requestedon", "datetime"),
            Column("dms_enrolledon", "datetime"),
            Column("dms_platformenrolmentid", "string", 100),
            Column("dms_message", "string", 1000),
        ),
        _custom_table(
            "dms_form",
            Column("dms_name", "string", 200),
            platform_id,
            account,
            url,
            Column("dms_state", "string", 50),
            Column("dms_formcreatedon", "datetime"),
            Column("dms_completeresponses", "int"),
        ),
        _custom_table(
            "dms_formquestion",
            Column("dms_text", "string", 1000),
            Column("dms_formid", "lookup"),
            platform_id,
            account,
            Column("dms_type", "string", 50),
            Column("dms_isrequired", "bool"),
            Column("dms_order", "int"),
        ),
        _custom_table(
            "dms_formquestionoption",
            Column("dms_text", "string", 500),
            Column("dms_formquestionid", "lookup"),
            platform_id,
            account,
        ),
        _custom_table(
            "dms_formresponse",
            email,
            Column("dms_formid", "lookup"),
            targets[0],
            targets[1],
            platform_id,
            account,
            Column("dms_complete", "bool"),
            Column("dms_startedon", "datetime"),
            Column("dms_completedon", "datetime"),
            Column("dms_answercount", "int"),
        ),
        _custom_table(
            "dms_formanswer",
            Column("dms_name", "string", 500),
            Column("dms_formresponseid", "lookup"),
            Column("dms_formquestionid", "lookup"),
            Column("dms_formquestionoptionid", "lookup"),
            account,
            Column("dms_value", "memo", 4000),
        ),
    ]
