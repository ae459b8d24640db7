"""Which handler runs which sync type. Types not listed here are not available yet."""

from __future__ import annotations

from shared.sync.base import SyncHandler
from shared.sync.crm_metadata import CrmMetadataSync
from shared.sync.data_labels import DataLabelsSync
from shared.sync.marketing_lists.address_books import AddressBooksSync
from shared.sync.marketing_lists.data_in import MarketingListsDataInSync
from shared.sync.marketing_lists.two_way import TwoWayMarketingListSync
from shared.sync_types import SyncType

HANDLERS: dict[SyncType, type[SyncHandler]] = {
    SyncType.ADDRESS_BOOKS: AddressBooksSync,
    SyncType.CRM_METADATA: CrmMetadataSync,
    SyncType.DATA_LABELS: DataLabelsSync,
    SyncType.MARKETING_LISTS_DATA_IN: MarketingListsDataInSync,
    SyncType.MARKETING_LISTS_DATA_OUT: TwoWayMarketingListSync,
}


def handler_for(sync_type: SyncType) -> SyncHandler | None:
    handler = HANDLERS.get(sync_type)
    return handler() if handler else None


def available(sync_type: SyncType) -> bool:
    return sync_type in HANDLERS
