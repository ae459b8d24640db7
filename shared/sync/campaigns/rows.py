"""The Dynamics rows of a campaign and its behaviour, each with a deterministic id: uuid5 of the
account and the row's natural key (campaign; campaign + platform contact + what happened), so a
replay, a redelivered message or a re-read of old activity writes the same rows again."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.clients.dataverse.odata import entity_path
from shared.clients.dotdigital.campaign_behaviour import (
    CampaignClick,
    CampaignPageView,
    CampaignRoiDetail,
    CampaignSocialBookmarkView,
)
from shared.clients.dotdigital.campaigns import Campaign, CampaignActivity, CampaignSummary
from shared.dynamics_schema.engagement import EMAIL_CAMPAIGN

ROW_NAMESPACE = uuid.UUID("5d7c1f0e-3b2a-4c9d-8e6f-a1b2c3d4e5f6")
EMAIL_CAMPAIGN_SOURCE = 1  # dms_webpageview.dms_source: a view after a campaign click

Body = dict[str, Any]


def row_id(account_id: str, *key: object) -> str:
    """The id of the row with this natural key in this account (the same for every writer)."""
    text = "/".join(str(part) for part in (account_id.casefold(), *key))
    return str(uuid.uuid5(ROW_NAMESPACE, text))


def campaign_row_id(account_id: str, campaign_id: int) -> str:
    return row_id(account_id, "campaign", campaign_id)


def _when(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def campaign_body(account_id: str, campaign: Campaign, now: datetime) -> Body:
    return {
        "dms_name": campaign.name[:200] or f"Campaign {campaign.id}",
        "dms_platformid": campaign.id,
        "dms_emailaccountid": account_id,
        "dms_subject": campaign.subject[:400],
        "dms_fromname": campaign.from_name[:200],
        "dms_fromaddress": (campaign.from_email or "")[:200],
        "dms_status": campaign.status[:50],
        "dms_lastsyncedon": _when(now),
    }


def totals_body(summary: CampaignSummary) -> Body:
    """The campaign's totals from its summary (merged into the campaign row)."""
    raw = summary.raw
    return {
        "dms_datesent": _when(summary.date_sent),
        "dms_numsent": summary.num_sent,
        "dms_numdelivered": summary.num_delivered,
        "dms_numuniqueopens": summary.num_unique_opens,
        "dms_numuniqueclicks": summary.num_recipients_clicked,
        "dms_numpageviews": int(raw.get("numPageViews") or 0),
        "dms_numunsubscribes": summary.num_unsubscribes,
        "dms_numhardbounces": summary.num_hard_bounces,
        "dms_numsoftbounces": summary.num_soft_bounces,
    }


def _common(account_id: str, campaign_row: str, email: str) -> Body:
    campaign = entity_path(EMAIL_CAMPAIGN.entity_set, campaign_row)
    return {
        "dms_emailcampaignid@odata.bind": f"/{campaign}",
        "dms_email": email.strip()[:100],
        "dms_emailaccountid": account_id,
    }


def send_summary(
    account_id: str, campaign_id: int, campaign_row: str, name: str, row: CampaignActivity
) -> tuple[str, Body]:
    body = _common(account_id, campaign_row, row.email)
    body.update({
        "dms_name": f"{name} - {row.email}"[:300],
        "dms_datesent": _when(row.date_sent),
        "dms_datefirstopened": _when(row.date_first_opened),
        "dms_datelastopened": _when(row.date_last_opened),
        "dms_numopens": row.num_opens,
        "dms_numclicks": row.num_clicks,
        "dms_numpageviews": row.num_page_views,
        "dms_unsubscribed": row.unsubscribed,
        "dms_softbounced": row.soft_bounced,
        "dms_hardbounced": row.hard_bounced,
    })  # fmt: skip
    return row_id(account_id, campaign_id, "summary", row.contact_id), body


def email_click(
    account_id: str, campaign_id: int, campaign_row: str, row: CampaignClick
) -> tuple[str, Body]:
    body = _common(account_id, campaign_row, row.email)
    body.update({"dms_url": row.url[:1000] or "(no URL)", "dms_clickedon": _when(row.date_clicked)})
    key = row_id(account_id, campaign_id, "click", row.contact_id, row.url, _when(row.date_clicked))
    return key, body


def page_view(
    account_id: str, campaign_id: int, campaign_row: str, row: CampaignPageView
) -> tuple[str, Body]:
    body = _common(account_id, campaign_row, row.email)
    body.update({"dms_url": row.url[:1000] or "(no URL)", "dms_viewedon": _when(row.date_viewed),
                 "dms_source": EMAIL_CAMPAIGN_SOURCE})  # fmt: skip
    key = row_id(account_id, campaign_id, "view", row.contact_id, row.url, _when(row.date_viewed))
    return key, body


def roi_detail(
    account_id: str, campaign_id: int, campaign_row: str, row: CampaignRoiDetail
) -> tuple[str, Body]:
    body = _common(account_id, campaign_row, row.email)
    body.update({"dms_markername": row.marker_name[:200] or "(no marker)",
                 "dms_datatype": row.data_type[:50], "dms_value": row.value[:500],
                 "dms_enteredon": _when(row.date_entered)})  # fmt: skip
    when = _when(row.date_entered)
    return row_id(account_id, campaign_id, "roi", row.contact_id, row.marker_name, when), body


def social_bookmark(
    account_id: str, campaign_id: int, campaign_row: str, row: CampaignSocialBookmarkView
) -> tuple[str, Body]:
    body = _common(account_id, campaign_row, row.email)
    body.update({"dms_name": row.bookmark_name[:200] or "(unknown)",
                 "dms_numviews": row.num_views})  # fmt: skip
    return row_id(account_id, campaign_id, "bookmark", row.contact_id, row.bookmark_name), body
