"""The sync types, named exactly as the product's audit and schedules show them."""

from __future__ import annotations

from enum import StrEnum


class SyncType(StrEnum):
    DATA_LABELS = "DataLabels"
    CRM_METADATA = "CrmMetadata"
    MARKETING_LISTS_DATA_IN = "MarketingListsDataIn"
    MARKETING_LISTS_DATA_OUT = "MarketingListsDataOut"
    ADDRESS_BOOKS = "AddressBooks"
    SUPPRESSION_LISTS = "SuppressionLists"
    UNSUBSCRIBES = "Unsubscribes"
    CAMPAIGN_STATISTICS = "CampaignStatistics"
    FORMS = "Forms"
    WEB_INSIGHT = "WebInsight"
    CONTACT_SCORING = "ContactScoring"
    CONTACT_OPT_IN = "ContactOptIn"
    MARKETING_PREFERENCES = "MarketingPreferences"
    # Work requested from Dynamics rather than data to sync: Email Send records (a campaign
    # sent to a marketing list) and Program Enrolment records, picked up on their schedules
    # and by webhook.
    EMAIL_SENDS = "EmailSends"
    PROGRAM_ENROLMENTS = "ProgramEnrolments"
    # Adobe Campaign Standard accounts (seed 004): Dynamics contacts -> profiles, mapped
    # Dynamics tables -> custom resources, marketing events -> timeline activities, and the
    # "no longer contact by" opt-outs in the account's direction.
    PROFILE_INGRESS = "ProfileIngress"
    CUSTOM_ENTITY_INGRESS = "CustomEntityIngress"
    EVENT_EGRESS = "EventEgress"
    OPT_OUT = "OptOut"


# What the schedule screen calls each type (seed: "Scheduled Sync Settings").
DISPLAY_NAMES: dict[SyncType, str] = {
    SyncType.CAMPAIGN_STATISTICS: "Email campaigns",
    SyncType.MARKETING_LISTS_DATA_OUT: "Two-way marketing list sync",
    SyncType.ADDRESS_BOOKS: "Address books to Dynamics",
    SyncType.DATA_LABELS: "Data field labels",
    SyncType.SUPPRESSION_LISTS: "Suppressions",
    SyncType.UNSUBSCRIBES: "Unsubscribes",
    SyncType.CRM_METADATA: "CRM metadata",
    SyncType.FORMS: "Forms",
    SyncType.WEB_INSIGHT: "Web behaviour tracking",
    SyncType.CONTACT_SCORING: "Contact scoring",
    SyncType.CONTACT_OPT_IN: "Opt-in status to Dynamics",
    SyncType.MARKETING_PREFERENCES: "Marketing preferences",
    SyncType.MARKETING_LISTS_DATA_IN: "Marketing list data in",
    SyncType.EMAIL_SENDS: "Email sends from Dynamics",
    SyncType.PROGRAM_ENROLMENTS: "Program enrolments",
    SyncType.PROFILE_INGRESS: "Contacts to Campaign profiles",
    SyncType.CUSTOM_ENTITY_INGRESS: "Dynamics tables to Campaign resources",
    SyncType.EVENT_EGRESS: "Campaign events to Dynamics timeline",
    SyncType.OPT_OUT: "Opt-outs",
}
