"""The product's sync types, per platform: the registry the worker uses unless a test (or a
future deployment setting) hands the runtime another one. A new sync type is added here."""

from __future__ import annotations

from functools import lru_cache

from shared.engine.registry import SyncTypeRegistry
from shared.sync.adobe.egress.sync_type import EventEgress
from shared.sync.adobe.ingress.sync_type import CustomEntityIngress, ProfileIngress
from shared.sync.adobe.opt_out_sync import OptOut
from shared.sync.campaigns.sync_type import CampaignStatistics
from shared.sync.contact_opt_in import ContactOptIn
from shared.sync.contact_scoring import ContactScoring
from shared.sync.crm_metadata import CrmMetadata
from shared.sync.data_labels import DataLabels
from shared.sync.email_sends.sync_type import EmailSends
from shared.sync.forms.sync_type import Forms
from shared.sync.marketing_lists.address_books import AddressBooks
from shared.sync.marketing_lists.data_in import MarketingListsDataIn
from shared.sync.marketing_lists.two_way import TwoWayMarketingLists
from shared.sync.preferences.sync import MarketingPreferences
from shared.sync.programs.sync_type import ProgramEnrolments
from shared.sync.suppressions.sync_type import SuppressionLists
from shared.sync.unsubscribes import Unsubscribes
from shared.sync.web_insight import WebInsight


@lru_cache(maxsize=1)
def catalogue() -> SyncTypeRegistry:
    return SyncTypeRegistry(
        [
            CrmMetadata(),
            DataLabels(),
            AddressBooks(),
            MarketingListsDataIn(),
            TwoWayMarketingLists(),  # the MarketingListsDataOut schedule
            Unsubscribes(),
            ContactOptIn(),
            SuppressionLists(),
            MarketingPreferences(),
            ContactScoring(),
            WebInsight(),
            EmailSends(),
            Forms(),
            CampaignStatistics(),
            ProgramEnrolments(),
            ProfileIngress(),  # Adobe Campaign
            CustomEntityIngress(),  # Adobe Campaign
            EventEgress(),  # Adobe Campaign
            OptOut(),  # Adobe Campaign
        ]
    )
