"""The webhook's registration plan with Adobe Campaign accounts: a Create step for every table
an Adobe account maps, Update and Delete steps for the ones no other step covers, filtered on
the columns ingress reads; contact's Update filters on them too."""

from __future__ import annotations

from shared.accounts import EmailAccount
from shared.pipeline.webhook_adobe import ingress_tables
from shared.pipeline.webhook_plan import planned_steps
from shared.runtime import Runtime
from tests.pipeline.adobe_ingress_world import card_mapping, configure, profile_mapping


def test_mapped_tables_get_the_steps_that_start_their_ingress(
    sync_runtime: Runtime, globex: EmailAccount
) -> None:
    configure(sync_runtime, profile_mapping(), card_mapping())

    ingress = ingress_tables(sync_runtime, sync_runtime.accounts.all())
    plain = {(s.message, s.table): s for s in planned_steps([])}
    steps = {(s.message, s.table): s for s in planned_steps([], ingress)}

    assert ingress["new_loyaltycard"] == {"new_name", "new_tier", "statecode", "new_contactid"}
    assert set(steps) - set(plain) == {
        ("Create", "contact"),
        ("Create", "new_loyaltycard"),
        ("Update", "new_loyaltycard"),
        ("Delete", "new_loyaltycard"),
    }
    assert steps[("Update", "new_loyaltycard")].filtering == (
        "new_contactid", "new_name", "new_tier", "statecode")  # fmt: skip
    contact_update = steps[("Update", "contact")].filtering
    assert {"firstname", "lastname", "gendercode"} <= set(contact_update)
    assert "gendercode" not in plain[("Update", "contact")].filtering
