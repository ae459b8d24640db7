"""Every Dotdigital operation the client calls, as (method, path template) pairs.

Templates are spelled exactly as in Dotdigital's own OpenAPI descriptions (the v2 generated
spec and the v3 Contacts service spec), so a test can check each one against them. Where the
v2 spec declares two operations on the same path shape (e.g. `/v2/programs/enrolments/{status}`
and `/{enrolmentId}`), the template names the one meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Route:
    method: str
    template: str

    @property
    def is_v3(self) -> bool:
        return self.template.startswith("/contacts/v3")

    def path(self, **params: object) -> str:
        """The template with each parameter percent-encoded (":" and "@" kept: dates, emails)."""
        return self.template.format(**{k: quote(str(v), safe=":@") for k, v in params.items()})

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


# Account and data fields (v2)
ACCOUNT_INFO = Route("GET", "/v2/account-info")
LIST_DATA_FIELDS = Route("GET", "/v2/data-fields")
CREATE_DATA_FIELD = Route("POST", "/v2/data-fields")

# Address books (v2)
LIST_ADDRESS_BOOKS = Route("GET", "/v2/address-books")
CREATE_ADDRESS_BOOK = Route("POST", "/v2/address-books")
GET_ADDRESS_BOOK = Route("GET", "/v2/address-books/{id}")
DELETE_ADDRESS_BOOK = Route("DELETE", "/v2/address-books/{id}")
LIST_ADDRESS_BOOK_CONTACTS = Route("GET", "/v2/address-books/{addressBookId}/contacts")
REMOVE_ADDRESS_BOOK_CONTACT = Route(
    "DELETE", "/v2/address-books/{addressBookId}/contacts/{contactId}"
)
REMOVE_ADDRESS_BOOK_CONTACTS = Route("POST", "/v2/address-books/{addressBookId}/contacts/delete")
CONTACT_DELETION_STATUS = Route("GET", "/v2/contacts/deletion/{deletionRequestId}")
ADDRESS_BOOK_UNSUBSCRIBED_SINCE = Route(
    "GET", "/v2/address-books/{addressBookId}/contacts/unsubscribed-since/{date}"
)

# Suppressions (v2)
SUPPRESSED_SINCE = Route("GET", "/v2/contacts/suppressed-since/{date}")
UNSUBSCRIBED_SINCE = Route("GET", "/v2/contacts/unsubscribed-since/{date}")
SUPPRESS_CONTACTS = Route("PUT", "/v2/contacts/suppress-contacts")
UNSUBSCRIBE = Route("POST", "/v2/contacts/unsubscribe")
RESUBSCRIBE = Route("POST", "/v2/contacts/resubscribe")
RESUBSCRIBE_NO_CHALLENGE = Route("POST", "/v2/contacts/resubscribe-with-no-challenge")

# Campaigns (v2)
LIST_CAMPAIGNS = Route("GET", "/v2/campaigns")
CAMPAIGNS_WITH_ACTIVITY_SINCE = Route("GET", "/v2/campaigns/with-activity-since/{date}")
CAMPAIGN_ACTIVITIES_SINCE = Route("GET", "/v2/campaigns/{campaignId}/activities/since-date/{date}")
CAMPAIGN_SUMMARY = Route("GET", "/v2/campaigns/{campaignId}/summary")
CAMPAIGN_CLICKS_SINCE = Route("GET", "/v2/campaigns/{campaignId}/clicks/since-date/{date}")
CAMPAIGN_PAGE_VIEWS_SINCE = Route("GET", "/v2/campaigns/{campaignId}/page-views/since-date/{date}")
CAMPAIGN_ROI_DETAILS_SINCE = Route(
    "GET", "/v2/campaigns/{campaignId}/roi-details/since-date/{date}"
)
CAMPAIGN_SOCIAL_BOOKMARK_VIEWS = Route("GET", "/v2/campaigns/{campaignId}/social-bookmark-views")
SEND_CAMPAIGN = Route("POST", "/v2/campaigns/send")
CAMPAIGN_SEND_STATUS = Route("GET", "/v2/campaigns/send/{sendId}")
CAMPAIGN_ADDRESS_BOOKS = Route("GET", "/v2/campaigns/{campaignId}/address-books")

# Programs (v2)
LIST_PROGRAMS = Route("GET", "/v2/programs")
ENROL_IN_PROGRAM = Route("POST", "/v2/programs/enrolments")
PROGRAM_ENROLMENT = Route("GET", "/v2/programs/enrolments/{enrolmentId}")
GET_PROGRAM = Route("GET", "/v2/programs/{id}")
ENROLMENTS_BY_STATUS = Route("GET", "/v2/programs/enrolments/{status}")

# INFERRED: the public API documents no read of an account's users (user mapping needs one);
# the sandbox serves this one and the README lists it (INFERRED_ROUTES, not ROUTES).
LIST_ACCOUNT_USERS = Route("GET", "/v2/account-users")

# Preferences (v2)
LIST_PREFERENCES = Route("GET", "/v2/preferences")
CONTACT_PREFERENCES = Route("GET", "/v2/contacts/{contactID}/preferences")
SET_CONTACT_PREFERENCES = Route("PUT", "/v2/contacts/{contactId}/preferences")
CONTACT_SUBSCRIPTIONS = Route("GET", "/v2/contacts/{contactEmail}/subscriptions")
OPT_INS_SINCE = Route(
    "GET", "/v2/contacts/with-preference/{preferenceId}/opt-ins-since/{sinceDate}"
)

# Contact scoring (v2)
CONTACT_SCORES_MODIFIED_SINCE = Route("GET", "/v2/contacts/score/modified-since/{date}")

# WebInsight (INFERRED: the public API documents no read; see clients/dotdigital/web_insight.py)
WEB_INSIGHT_PAGE_VIEWS_SINCE = Route("GET", "/v2/contacts/web-insight/page-views/since-date/{date}")
# Pages and forms (v2 surveys)
LIST_SURVEYS = Route("GET", "/v2/surveys")
SURVEYS_WITH_ACTIVITY_SINCE = Route("GET", "/v2/surveys/with-activity-since/{date}")
GET_SURVEY = Route("GET", "/v2/surveys/{id}")
SURVEY_FIELDS = Route("GET", "/v2/surveys/{id}/fields")
SURVEY_RESPONSES = Route("GET", "/v2/surveys/{id}/responses")
SURVEY_RESPONSES_SINCE = Route("GET", "/v2/surveys/{id}/responses/with-activity-since/{date}")

# Contacts and imports (v3)
LIST_CONTACTS = Route("GET", "/contacts/v3")
GET_CONTACT = Route("GET", "/contacts/v3/{identifier}/{value}")
IMPORT_CONTACTS = Route("PUT", "/contacts/v3/import")
IMPORT_STATUS = Route("GET", "/contacts/v3/import/{importId}")

ROUTES: tuple[Route, ...] = (
    ACCOUNT_INFO,
    LIST_DATA_FIELDS,
    CREATE_DATA_FIELD,
    LIST_ADDRESS_BOOKS,
    CREATE_ADDRESS_BOOK,
    GET_ADDRESS_BOOK,
    DELETE_ADDRESS_BOOK,
    LIST_ADDRESS_BOOK_CONTACTS,
    REMOVE_ADDRESS_BOOK_CONTACT,
    REMOVE_ADDRESS_BOOK_CONTACTS,
    CONTACT_DELETION_STATUS,
    ADDRESS_BOOK_UNSUBSCRIBED_SINCE,
    SUPPRESSED_SINCE,
    UNSUBSCRIBED_SINCE,
    SUPPRESS_CONTACTS,
    UNSUBSCRIBE,
    RESUBSCRIBE,
    RESUBSCRIBE_NO_CHALLENGE,
    LIST_CAMPAIGNS,
    CAMPAIGNS_WITH_ACTIVITY_SINCE,
    CAMPAIGN_ACTIVITIES_SINCE,
    CAMPAIGN_SUMMARY,
    CAMPAIGN_CLICKS_SINCE,
    CAMPAIGN_PAGE_VIEWS_SINCE,
    CAMPAIGN_ROI_DETAILS_SINCE,
    CAMPAIGN_SOCIAL_BOOKMARK_VIEWS,
    SEND_CAMPAIGN,
    CAMPAIGN_SEND_STATUS,
    CAMPAIGN_ADDRESS_BOOKS,
    LIST_PROGRAMS,
    ENROL_IN_PROGRAM,
    PROGRAM_ENROLMENT,
    GET_PROGRAM,
    ENROLMENTS_BY_STATUS,
    LIST_PREFERENCES,
    CONTACT_PREFERENCES,
    SET_CONTACT_PREFERENCES,
    CONTACT_SUBSCRIPTIONS,
    OPT_INS_SINCE,
    CONTACT_SCORES_MODIFIED_SINCE,
    LIST_SURVEYS,
    SURVEYS_WITH_ACTIVITY_SINCE,
    GET_SURVEY,
    SURVEY_FIELDS,
    SURVEY_RESPONSES,
    SURVEY_RESPONSES_SINCE,
    LIST_CONTACTS,
    GET_CONTACT,
    IMPORT_CONTACTS,
    IMPORT_STATUS,
)
"""Everything the client calls that Dotdigital documents; the OpenAPI coverage test checks each
was validated."""

INFERRED_ROUTES: tuple[Route, ...] = (WEB_INSIGHT_PAGE_VIEWS_SINCE, LIST_ACCOUNT_USERS)
"""Calls no published description has (the sandbox serves an inferred shape): the OpenAPI
oracle lets them through unchecked, and the README lists them."""
