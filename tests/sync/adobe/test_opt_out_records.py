"""One contact and its profile planned pair by pair: which attributes a PATCH carries, which
fields the contact gets, and the times each side's change is judged by."""

from __future__ import annotations

from shared.storage.adobe_config_model import CampaignOptOut, OptOutMode, OptOutPair
from shared.sync.adobe.opt_out_records import (
    contact_columns,
    contact_id,
    never_set_in_campaign,
    plan,
)

CONTACT_ID = "5b7a4c9e-1f2d-4e3a-9b8c-7d6e5f4a3b21"
PAIRS = [
    OptOutPair(campaign_attribute=CampaignOptOut.EMAIL, dynamics_field="donotbulkemail"),
    OptOutPair(campaign_attribute=CampaignOptOut.BLACKLIST, dynamics_field="donotemail"),
    OptOutPair(campaign_attribute=CampaignOptOut.CCPA, dynamics_field="donotfax"),
]


def _contact(modified: str = "2026-11-20T09:00:00Z", **values: bool) -> dict[str, object]:
    return {"contactid": CONTACT_ID, "modifiedon": modified, "@odata.etag": 'W/"7"', **values}


def _profile(**values: object) -> dict[str, object]:
    return {"href": "https://acs.example/profile/@x", "blackListEmailLastModified": "",
            "blackListLastModified": "", "blackListAllLastModified": "",
            "ccpaOptOutLastModified": "", **values}  # fmt: skip


def test_bidirectional_writes_each_side_only_what_differs() -> None:
    later = "2026-11-20 10:00:00.000Z"
    change = plan(
        OptOutMode.BIDIRECTIONAL,
        PAIRS,
        _contact(donotbulkemail=True, donotemail=False, donotfax=True),
        _profile(blackListEmail=False, blackList=True, blackListLastModified=later,
                 ccpaOptOut=True, ccpaOptOutLastModified=later),
    )  # fmt: skip
    # Email: Dynamics newer (Campaign never set it) and opted out -> Campaign follows.
    # blackList: Campaign newer -> the contact follows. CCPA: already the same.
    assert change.campaign == {"blackListEmail": True}
    assert change.dynamics == {"donotemail": True}
    assert change.etag == 'W/"7"' and change.contact_id == CONTACT_ID


def test_blacklist_falls_back_to_the_all_channels_time() -> None:
    # A profile with only blackListAllLastModified set: Campaign's change is judged by it.
    change = plan(
        OptOutMode.BIDIRECTIONAL,
        PAIRS[1:2],
        _contact(donotemail=True),
        _profile(blackList=False, blackListAllLastModified="2026-11-20 10:00:00.000Z"),
    )
    assert change.dynamics == {"donotemail": False} and not change.campaign


def test_a_profile_whose_mapped_attributes_campaign_never_set_is_new() -> None:
    assert never_set_in_campaign(_profile(), PAIRS)
    stamped = _profile(ccpaOptOutLastModified="2026-11-20 10:00:00.000Z")
    assert not never_set_in_campaign(stamped, PAIRS)


def test_the_columns_read_and_the_contact_ids_a_profile_can_name() -> None:
    assert contact_columns(PAIRS) == ["contactid", "modifiedon", "donotbulkemail", "donotemail",
                                      "donotfax"]  # fmt: skip
    assert contact_id(CONTACT_ID.upper()) == CONTACT_ID
    assert contact_id("") is None and contact_id("crm-42") is None
