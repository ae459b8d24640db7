"""A record's marketing preferences in an email account, as the Marketing Preferences tab of its
form shows them: all, opted in, opted out, private or public."""

from __future__ import annotations

from shared.pipeline import admin
from shared.runtime import Runtime
from shared.sync.preferences.view import PreferenceFilter, PreferenceLine, record_preferences

__all__ = ["PreferenceFilter", "PreferenceLine", "record_preferences_of"]


def record_preferences_of(
    rt: Runtime, account_id: str, record: str, wanted: PreferenceFilter = PreferenceFilter.ALL
) -> list[PreferenceLine]:
    """`record`: contact:<id>, lead:<id>, account:<id> or an email address."""
    admin.require_account(rt, account_id)
    return record_preferences(rt.dataverse(), account_id, record, wanted)
