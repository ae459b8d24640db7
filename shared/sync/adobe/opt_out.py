"""The opt-out decision for one contact <-> profile attribute pair (e.g. donotbulkemail <->
blackListEmail), per the account's mode.

Bidirectional, as Adobe's integration documents it: the Dynamics record's change time (record
level: `modifiedon`) is compared with Campaign's attribute-level `*LastModified`. Campaign
newer: Campaign's value wins. Dynamics newer or equal: opted out wins if either side is opted
out. So the rule is asymmetric: a newer Campaign opt-in can clear a Dynamics opt-out, but a
Dynamics opt-in can never clear a Campaign opt-out. An empty `*LastModified` ("", never set in
Campaign) counts as older than any Dynamics change; CampaignToDynamics does not copy such an
attribute: its false is a default, nobody's choice (Adobe's own Campaign -> Dynamics path exports
changes only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.storage.adobe_config_model import OptOutMode
from shared.sync.adobe.values import moment_of


@dataclass(frozen=True)
class OptOutSide:
    opted_out: bool
    modified: datetime | None  # Dynamics: the record's modifiedon; Campaign: *LastModified


@dataclass(frozen=True)
class OptOutDecision:
    opted_out: bool  # the value both sides should hold (the written side's new value)
    write_dynamics: bool
    write_campaign: bool


def campaign_modified(raw: object) -> datetime | None:
    """A profile's `*LastModified`: empty dates come back as ""."""
    return moment_of(raw) if isinstance(raw, str) else None


def _campaign_newer(dynamics: OptOutSide, campaign: OptOutSide) -> bool:
    if campaign.modified is None:
        return False
    return dynamics.modified is None or campaign.modified > dynamics.modified


def decide(mode: OptOutMode, dynamics: OptOutSide, campaign: OptOutSide) -> OptOutDecision:
    unset_source = mode is OptOutMode.CAMPAIGN_TO_DYNAMICS and campaign.modified is None
    if mode is OptOutMode.DISABLED or unset_source:
        return OptOutDecision(dynamics.opted_out, write_dynamics=False, write_campaign=False)
    if mode is OptOutMode.DYNAMICS_TO_CAMPAIGN:
        value = dynamics.opted_out
    elif mode is OptOutMode.CAMPAIGN_TO_DYNAMICS or _campaign_newer(dynamics, campaign):
        value = campaign.opted_out
    else:
        value = dynamics.opted_out or campaign.opted_out
    return OptOutDecision(
        value,
        write_dynamics=mode is not OptOutMode.DYNAMICS_TO_CAMPAIGN and dynamics.opted_out != value,
        write_campaign=mode is not OptOutMode.CAMPAIGN_TO_DYNAMICS and campaign.opted_out != value,
    )
