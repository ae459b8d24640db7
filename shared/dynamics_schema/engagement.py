"""The connector's tables for campaigns, behaviour, sends, enrolments and forms (seeds 000/001:
"Email Campaigns", "Email Sends", "Email Send Summaries", "Email Clicks", "Email ROI Details",
"Social Bookmarks", "Web Page Views", "Form", "Form Questions", "Form Question Options", "Form
Responses", "Form Answers"; program enrolments), and the contact scoring columns on contact and
lead.

Every row names its email account (`dms_emailaccountid`) and, where the platform gives one, its
platform id, from which the row's id is derived (uuid5 of the account and the natural key): a
re-run writes the same rows again. Behaviour rows point at the person they are about through
one of three lookups (contact, lead, account), found by email, and keep the email too, so a row
whose person is not in Dynamics yet is still kept and readable.
"""

from __future__ import annotations

from shared.dynamics_schema.model import ColumnAddition, ColumnDef, Kind, Option, TableDefinition

ACCOUNT = ColumnDef(
    "dms_emailaccountid",
    Kind.STRING,
    "Email account",
    "The id of the connector's email account this row belongs to.",
    max_length=100,
)
EMAIL = ColumnDef("dms_email", Kind.STRING, "Email", max_length=100)
CAMPAIGN = ColumnDef(
    "dms_emailcampaignid", Kind.LOOKUP, "Email Campaign", target="dms_emailcampaign"
)
PLATFORM_ID = ColumnDef("dms_platformid", Kind.INTEGER, "Platform Id", "The email platform's id.")
CONTACT = ColumnDef("dms_contactid", Kind.LOOKUP, "Contact", target="contact")
LEAD = ColumnDef("dms_leadid", Kind.LOOKUP, "Lead", target="lead")
ACCOUNT_TARGET = ColumnDef("dms_accountid", Kind.LOOKUP, "Account", target="account")
TARGETS = (CONTACT, LEAD, ACCOUNT_TARGET)  # who a behaviour row is about (one is set)


def _name(label: str = "Name", length: int = 300) -> ColumnDef:
    return ColumnDef("dms_name", Kind.STRING, label, max_length=length, required=True)


def _count(name: str, label: str) -> ColumnDef:
    return ColumnDef(name, Kind.INTEGER, label)


EMAIL_CAMPAIGN = TableDefinition(
    logical_name="dms_emailcampaign",
    entity_set="dms_emailcampaigns",
    display_name="Email Campaign",
    plural_name="Email Campaigns",
    description="An email campaign of an email account, with its totals from the platform.",
    primary_name=_name(length=200),
    columns=(
        PLATFORM_ID,
        ACCOUNT,
        ColumnDef("dms_subject", Kind.STRING, "Subject", max_length=400),
        ColumnDef("dms_fromname", Kind.STRING, "From Name", max_length=200),
        ColumnDef("dms_fromaddress", Kind.STRING, "From Address", max_length=200),
        ColumnDef("dms_status", Kind.STRING, "Status", max_length=50),
        ColumnDef("dms_datesent", Kind.DATETIME, "Date Sent"),
        _count("dms_numsent", "Sent"),
        _count("dms_numdelivered", "Delivered"),
        _count("dms_numuniqueopens", "Unique Opens"),
        _count("dms_numuniqueclicks", "Unique Clicks"),
        _count("dms_numpageviews", "Page Views"),
        _count("dms_numunsubscribes", "Unsubscribes"),
        _count("dms_numhardbounces", "Hard Bounces"),
        _count("dms_numsoftbounces", "Soft Bounces"),
        ColumnDef("dms_lastsyncedon", Kind.DATETIME, "Last Synchronised"),
    ),
)

EMAIL_SEND_SUMMARY = TableDefinition(
    logical_name="dms_emailsendsummary",
    entity_set="dms_emailsendsummarys",
    display_name="Email Send Summary",
    plural_name="Email Send Summaries",
    description="One target's behaviour on one email campaign: sent, opens, clicks, bounces.",
    primary_name=_name(),
    columns=(
        CAMPAIGN,
        *TARGETS,
        EMAIL,
        ACCOUNT,
        ColumnDef("dms_datesent", Kind.DATETIME, "Date Sent"),
        ColumnDef("dms_datefirstopened", Kind.DATETIME, "First Opened"),
        ColumnDef("dms_datelastopened", Kind.DATETIME, "Last Opened"),
        _count("dms_numopens", "Opens"),
        _count("dms_numclicks", "Clicks"),
        _count("dms_numpageviews", "Page Views"),
        ColumnDef("dms_unsubscribed", Kind.BOOLEAN, "Unsubscribed"),
        ColumnDef("dms_softbounced", Kind.BOOLEAN, "Soft Bounced"),
        ColumnDef("dms_hardbounced", Kind.BOOLEAN, "Hard Bounced"),
    ),
)

EMAIL_CLICK = TableDefinition(
    logical_name="dms_emailclick",
    entity_set="dms_emailclicks",
    display_name="Email Click",
    plural_name="Email Clicks",
    description="A click on a link in an email campaign.",
    primary_name=ColumnDef("dms_url", Kind.STRING, "URL", max_length=1000, required=True),
    columns=(
        CAMPAIGN,
        *TARGETS,
        EMAIL,
        ACCOUNT,
        ColumnDef("dms_clickedon", Kind.DATETIME, "Date Clicked"),
    ),
)

# Where a page view was seen: a campaign's tracked link or the site's WebInsight tag.
PAGE_VIEW_SOURCES = (Option(1, "Email campaign"), Option(2, "WebInsight"))

WEB_PAGE_VIEW = TableDefinition(
    logical_name="dms_webpageview",
    entity_set="dms_webpageviews",
    display_name="Web Page View",
    plural_name="Web Page Views",
    description="A page view of a contact: after a campaign click, or tracked by WebInsight.",
    primary_name=ColumnDef("dms_url", Kind.STRING, "URL", max_length=1000, required=True),
    columns=(
        CAMPAIGN,  # empty for WebInsight views
        *TARGETS,
        EMAIL,
        ACCOUNT,
        ColumnDef("dms_viewedon", Kind.DATETIME, "Date Viewed"),
        ColumnDef("dms_durationseconds", Kind.INTEGER, "Duration (seconds)"),
        ColumnDef("dms_source", Kind.PICKLIST, "Source", options=PAGE_VIEW_SOURCES),
    ),
)

EMAIL_ROI_DETAIL = TableDefinition(
    logical_name="dms_emailroidetail",
    entity_set="dms_emailroidetails",
    display_name="Email ROI Detail",
    plural_name="Email ROI Details",
    description="A return-on-investment marker recorded after a campaign (an order, a value).",
    primary_name=ColumnDef("dms_markername", Kind.STRING, "Marker", max_length=200, required=True),
    columns=(
        CAMPAIGN,
        *TARGETS,
        EMAIL,
        ACCOUNT,
        ColumnDef("dms_datatype", Kind.STRING, "Data Type", max_length=50),
        ColumnDef("dms_value", Kind.STRING, "Value", max_length=500),
        ColumnDef("dms_enteredon", Kind.DATETIME, "Date Entered"),
    ),
)

SOCIAL_BOOKMARK = TableDefinition(
    logical_name="dms_socialbookmark",
    entity_set="dms_socialbookmarks",
    display_name="Social Bookmark",
    plural_name="Social Bookmarks",
    description="A view of a campaign shared on a social network.",
    primary_name=_name("Social Network", 200),
    columns=(
        CAMPAIGN,
        *TARGETS,
        EMAIL,
        ACCOUNT,
        _count("dms_numviews", "Views"),
    ),
)

# An email send from Dynamics, as it moves (seed 000: "Email Sends"; the connector's steps).
SEND_STATUSES = (
    Option(1, "Requested"),  # written by the CRM user; the connector picks it up
    Option(2, "Synchronising List"),  # the list's MarketingListsDataOut runs first
    Option(3, "Sending"),  # the send call is being made (or its answer was lost)
    Option(4, "Sent"),
    Option(5, "Refused"),  # never sent: no list, no book, an empty book, a disabled account
    Option(6, "Failed"),
)

EMAIL_SEND = TableDefinition(
    logical_name="dms_emailsend",
    entity_set="dms_emailsends",
    display_name="Email Send",
    plural_name="Email Sends",
    description="A send of an email campaign to an email-activated marketing list, from Dynamics.",
    primary_name=_name(),
    columns=(
        CAMPAIGN,
        ColumnDef("dms_listid", Kind.LOOKUP, "Marketing List", target="list"),
        ACCOUNT,
        ColumnDef("dms_status", Kind.PICKLIST, "Status", options=SEND_STATUSES),
        ColumnDef("dms_requestedon", Kind.DATETIME, "Requested On"),
        ColumnDef("dms_senton", Kind.DATETIME, "Sent On"),
        ColumnDef("dms_platformsendid", Kind.STRING, "Platform Send Id", max_length=100),
        ColumnDef("dms_message", Kind.STRING, "Message", max_length=1000),
    ),
)

# A request from Dynamics to enrol one contact or lead in a program ("Automation Programs" on
# the contact or lead form): created by the CRM user (its `createdby` is who asked, for "Mapped
# users only"), then moved on by the connector.
ENROLMENT_STATUSES = (
    Option(1, "Requested"),
    Option(2, "Enrolling"),  # the enrolment call is being made (or its answer was lost)
    Option(3, "Enrolled"),
    Option(4, "Refused"),  # not allowed, inactive program, unmapped user, no email
    Option(5, "Failed"),
)

PROGRAM_ENROLMENT = TableDefinition(
    logical_name="dms_programenrolment",
    entity_set="dms_programenrolments",
    display_name="Program Enrolment",
    plural_name="Program Enrolments",
    description="A request to enrol a contact or lead in an email platform program.",
    primary_name=_name(),
    columns=(
        ColumnDef("dms_programid", Kind.INTEGER, "Program Id", "The platform's program id."),
        ColumnDef("dms_programname", Kind.STRING, "Program", max_length=200),
        CONTACT,
        LEAD,
        EMAIL,
        ACCOUNT,
        ColumnDef("dms_status", Kind.PICKLIST, "Status", options=ENROLMENT_STATUSES),
        ColumnDef("dms_requestedon", Kind.DATETIME, "Requested On"),
        ColumnDef("dms_enrolledon", Kind.DATETIME, "Enrolled On"),
        ColumnDef("dms_platformenrolmentid", Kind.STRING, "Platform Enrolment Id", max_length=100),
        ColumnDef("dms_message", Kind.STRING, "Message", max_length=1000),
    ),
)

FORM = TableDefinition(
    logical_name="dms_form",
    entity_set="dms_forms",
    display_name="Form",
    plural_name="Forms",
    description="A page or form (survey) of an email account.",
    primary_name=_name(length=200),
    columns=(
        PLATFORM_ID,
        ACCOUNT,
        ColumnDef("dms_url", Kind.STRING, "URL", max_length=1000),
        ColumnDef("dms_state", Kind.STRING, "State", max_length=50),
        ColumnDef("dms_formcreatedon", Kind.DATETIME, "Created In Platform"),
        _count("dms_completeresponses", "Complete Responses"),
    ),
)

FORM_QUESTION = TableDefinition(
    logical_name="dms_formquestion",
    entity_set="dms_formquestions",
    display_name="Form Question",
    plural_name="Form Questions",
    description="A question (field) of a form.",
    primary_name=ColumnDef("dms_text", Kind.STRING, "Question", max_length=1000, required=True),
    columns=(
        ColumnDef("dms_formid", Kind.LOOKUP, "Form", target="dms_form"),
        PLATFORM_ID,
        ACCOUNT,
        ColumnDef("dms_type", Kind.STRING, "Type", max_length=50),
        ColumnDef("dms_isrequired", Kind.BOOLEAN, "Required"),
        _count("dms_order", "Order"),
    ),
)

FORM_QUESTION_OPTION = TableDefinition(
    logical_name="dms_formquestionoption",
    entity_set="dms_formquestionoptions",
    display_name="Form Question Option",
    plural_name="Form Question Options",
    description="A choice offered by a form question.",
    primary_name=ColumnDef("dms_text", Kind.STRING, "Option", max_length=500, required=True),
    columns=(
        ColumnDef("dms_formquestionid", Kind.LOOKUP, "Form Question", target="dms_formquestion"),
        PLATFORM_ID,
        ACCOUNT,
    ),
)

FORM_RESPONSE = TableDefinition(
    logical_name="dms_formresponse",
    entity_set="dms_formresponses",
    display_name="Form Response",
    plural_name="Form Responses",
    description="One person's response to a form.",
    primary_name=ColumnDef("dms_email", Kind.STRING, "Email", max_length=100, required=True),
    columns=(
        ColumnDef("dms_formid", Kind.LOOKUP, "Form", target="dms_form"),
        CONTACT,
        LEAD,
        PLATFORM_ID,
        ACCOUNT,
        ColumnDef("dms_complete", Kind.BOOLEAN, "Complete"),
        ColumnDef("dms_startedon", Kind.DATETIME, "Started On"),
        ColumnDef("dms_completedon", Kind.DATETIME, "Completed On"),
        # How many answers the row was written with: a response re-read with as many (and the
        # same completion) is not written again.
        _count("dms_answercount", "Answers"),
    ),
)

FORM_ANSWER = TableDefinition(
    logical_name="dms_formanswer",
    entity_set="dms_formanswers",
    display_name="Form Answer",
    plural_name="Form Answers",
    description="The answer a response gave to one question.",
    primary_name=_name(length=500),
    columns=(
        ColumnDef("dms_formresponseid", Kind.LOOKUP, "Form Response", target="dms_formresponse"),
        ColumnDef("dms_formquestionid", Kind.LOOKUP, "Form Question", target="dms_formquestion"),
        ColumnDef(
            "dms_formquestionoptionid",
            Kind.LOOKUP,
            "Form Question Option",
            target="dms_formquestionoption",
        ),
        ACCOUNT,
        ColumnDef("dms_value", Kind.MEMO, "Value", max_length=4000),
    ),
)

ENGAGEMENT_TABLES: tuple[TableDefinition, ...] = (
    EMAIL_CAMPAIGN,
    EMAIL_SEND_SUMMARY,
    EMAIL_CLICK,
    WEB_PAGE_VIEW,
    EMAIL_ROI_DETAIL,
    SOCIAL_BOOKMARK,
    EMAIL_SEND,
    PROGRAM_ENROLMENT,
    FORM,
    FORM_QUESTION,
    FORM_QUESTION_OPTION,
    FORM_RESPONSE,
    FORM_ANSWER,
)

# Contact scoring (`GET /v2/contacts/score...`: score, scoreLabel, engagement, suitability).
SCORE_COLUMNS = (
    ColumnDef("dms_score", Kind.INTEGER, "Score", "The contact's score in the email platform."),
    ColumnDef("dms_scorelabel", Kind.STRING, "Score Label", max_length=100),
    ColumnDef("dms_scoreengagement", Kind.INTEGER, "Engagement Score"),
    ColumnDef("dms_scoresuitability", Kind.INTEGER, "Suitability Score"),
    ColumnDef("dms_scoremodifiedon", Kind.DATETIME, "Score Modified On"),
)
SCORE_ADDITIONS: tuple[ColumnAddition, ...] = tuple(
    ColumnAddition(table, column) for table in ("contact", "lead") for column in SCORE_COLUMNS
)
