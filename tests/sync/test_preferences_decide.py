"""The direction rule for one (email, preference): the later change wins, a tie goes to the
platform, the connector's own writes are not edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.sync.preferences.decide import Decision, PlatformValue, RowState, decide

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
LONG_AGO = T0 - timedelta(days=30)


def _decided(rows: list[RowState], platform: PlatformValue | None) -> Decision:
    decision = decide(rows, platform)
    assert decision is not None
    return decision


def test_a_dynamics_edit_goes_to_the_platform_when_the_platform_did_not_change() -> None:
    edited = RowState(opted_in=True, synced=False, modified=T0)
    decision = _decided([edited], PlatformValue(False, LONG_AGO))
    assert (decision.value, decision.winner, decision.set_platform) == (True, "dynamics", True)


def test_a_platform_change_reaches_rows_that_agreed_on_the_old_value() -> None:
    untouched = RowState(opted_in=False, synced=False, modified=T0 + timedelta(hours=1))
    decision = _decided([untouched], PlatformValue(True, T0, changed=True))
    assert (decision.value, decision.winner, decision.set_platform) == (True, "platform", False)


def test_when_both_sides_changed_the_later_change_wins() -> None:
    # Agreed on False. The CRM user opted in; the contact opted in and out again on the
    # platform: its value is the agreed one, but it changed, and later than the CRM edit.
    crm_edit = RowState(opted_in=True, synced=False, modified=T0)
    platform_later = _decided([crm_edit], PlatformValue(False, T0 + SECOND, changed=True))
    assert (platform_later.winner, platform_later.value) == ("platform", False)
    crm_later = _decided([crm_edit], PlatformValue(False, T0 - SECOND, changed=True))
    assert (crm_later.winner, crm_later.value, crm_later.set_platform) == ("dynamics", True, True)


def test_a_tie_goes_to_the_platform() -> None:
    crm_edit = RowState(opted_in=True, synced=False, modified=T0)
    tied = _decided([crm_edit], PlatformValue(False, T0, changed=True))
    assert (tied.winner, tied.value, tied.set_platform) == ("platform", False, False)


def test_nothing_to_decide_without_an_edit_and_with_the_platform_unread() -> None:
    assert decide([RowState(opted_in=True, synced=True, modified=T0)], None) is None
    # A row the connector wrote (both columns) is not an edit, whatever its modifiedon.
    agreed = _decided([RowState(True, True, T0 + timedelta(days=9))], PlatformValue(True, T0))
    assert agreed.winner == "none" and not agreed.set_platform


def test_the_latest_edit_among_records_sharing_the_email_is_the_dynamics_side() -> None:
    contact = RowState(opted_in=True, synced=False, modified=T0)
    lead = RowState(opted_in=False, synced=False, modified=T0 + timedelta(minutes=5))  # untouched
    decision = _decided([contact, lead], PlatformValue(False, LONG_AGO))
    assert (decision.value, decision.set_platform) == (True, True)
    contact_out = RowState(opted_in=False, synced=True, modified=T0)
    lead_in = RowState(opted_in=True, synced=False, modified=T0 + timedelta(minutes=5))
    both = _decided([contact_out, lead_in], PlatformValue(False, LONG_AGO))
    assert (both.value, both.winner) == (True, "dynamics")


def test_an_edit_the_platform_already_holds_keeps_the_edit_s_date() -> None:
    # The CRM user opted in at T0; a first slice set the platform (dated a minute later, by the
    # connector); the continuation decides again: the change is still the edit, as dated.
    crm_edit = RowState(opted_in=True, synced=False, modified=T0)
    decision = _decided([crm_edit], PlatformValue(True, T0 + timedelta(minutes=1), changed=True))
    assert (decision.value, decision.modified, decision.set_platform) == (True, T0, False)
