"""The opt-out decision per mode, and the bidirectional rule's table of cases as Adobe states
it: Campaign newer -> Campaign wins; Dynamics newer or equal -> opted out wins if either side
is opted out. Asymmetric: a newer Campaign opt-in clears a Dynamics opt-out, a newer Dynamics
opt-in never clears a Campaign opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.storage.adobe_config_model import OptOutMode
from shared.sync.adobe.opt_out import OptOutDecision, OptOutSide, campaign_modified, decide

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EARLIER, LATER = T - timedelta(hours=1), T + timedelta(hours=1)
BI = OptOutMode.BIDIRECTIONAL


def _bi(dyn: bool, dyn_at: datetime | None, cam: bool, cam_at: datetime | None) -> OptOutDecision:
    return decide(BI, OptOutSide(dyn, dyn_at), OptOutSide(cam, cam_at))


@pytest.mark.parametrize(
    ("dynamics", "campaign", "campaign_at", "result"),
    [
        # Campaign changed later: its value wins, either way.
        (True, False, LATER, OptOutDecision(False, write_dynamics=True, write_campaign=False)),
        (False, True, LATER, OptOutDecision(True, write_dynamics=True, write_campaign=False)),
        (True, True, LATER, OptOutDecision(True, write_dynamics=False, write_campaign=False)),
        (False, False, LATER, OptOutDecision(False, write_dynamics=False, write_campaign=False)),
        # Dynamics changed later: opted out wins if either side is opted out.
        (False, True, EARLIER, OptOutDecision(True, write_dynamics=True, write_campaign=False)),
        (True, False, EARLIER, OptOutDecision(True, write_dynamics=False, write_campaign=True)),
        (False, False, EARLIER, OptOutDecision(False, write_dynamics=False, write_campaign=False)),
        # The same instant counts as Dynamics newer.
        (False, True, T, OptOutDecision(True, write_dynamics=True, write_campaign=False)),
        (True, False, T, OptOutDecision(True, write_dynamics=False, write_campaign=True)),
        # Never changed in Campaign ("" LastModified): Dynamics newer.
        (False, True, None, OptOutDecision(True, write_dynamics=True, write_campaign=False)),
        (True, False, None, OptOutDecision(True, write_dynamics=False, write_campaign=True)),
    ],
)
def test_bidirectional_cases(
    dynamics: bool, campaign: bool, campaign_at: datetime | None, result: OptOutDecision
) -> None:
    assert _bi(dynamics, T, campaign, campaign_at) == result


def test_the_rule_is_asymmetric() -> None:
    # A newer Campaign opt-in clears a Dynamics opt-out ...
    assert _bi(True, T, False, LATER).opted_out is False
    # ... but a newer Dynamics opt-in never clears a Campaign opt-out.
    assert _bi(False, LATER, True, T).opted_out is True


def test_unidirectional_modes_copy_one_side_and_disabled_writes_nothing() -> None:
    dyn, cam = OptOutSide(True, EARLIER), OptOutSide(False, LATER)
    assert decide(OptOutMode.DYNAMICS_TO_CAMPAIGN, dyn, cam) == OptOutDecision(
        True, write_dynamics=False, write_campaign=True
    )
    assert decide(OptOutMode.CAMPAIGN_TO_DYNAMICS, dyn, cam) == OptOutDecision(
        False, write_dynamics=True, write_campaign=False
    )
    # A one-way mode never writes the source side, even when the other is newer or opted out.
    assert decide(
        OptOutMode.DYNAMICS_TO_CAMPAIGN, OptOutSide(False, EARLIER), OptOutSide(True, LATER)
    ) == OptOutDecision(False, write_dynamics=False, write_campaign=True)
    disabled = decide(OptOutMode.DISABLED, dyn, cam)
    assert not disabled.write_dynamics and not disabled.write_campaign


def test_campaign_last_modified_reads_empty_dates_as_never() -> None:
    assert campaign_modified("") is None
    assert campaign_modified("2026-11-20 09:00:00.000Z") == T
    assert campaign_modified(None) is None


def test_campaign_to_dynamics_leaves_attributes_campaign_never_set() -> None:
    # An empty *LastModified: the profile's false is a default, nobody's choice; the contact's
    # opt-out stays. Once Campaign sets the attribute (even to false) it is the source.
    never = decide(OptOutMode.CAMPAIGN_TO_DYNAMICS, OptOutSide(True, T), OptOutSide(False, None))
    assert never == OptOutDecision(True, write_dynamics=False, write_campaign=False)
    cleared = decide(OptOutMode.CAMPAIGN_TO_DYNAMICS, OptOutSide(True, T), OptOutSide(False, T))
    assert cleared == OptOutDecision(False, write_dynamics=True, write_campaign=False)
