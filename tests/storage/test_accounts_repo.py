from __future__ import annotations

from shared.accounts import CampaignSyncLevel, EmailAccount, Platform
from shared.runtime import Runtime


def test_account_round_trips_with_seed_defaults(runtime: Runtime) -> None:
    account = EmailAccount(account_id="a1", name="EU newsletter", owner="Marketing ops")
    runtime.accounts.save(account)

    stored = runtime.accounts.get("a1")

    assert stored == account
    assert stored.platform is Platform.DOTDIGITAL
    assert stored.update_do_not_bulk_email
    assert stored.add_global_unsubscribers_to_crm_suppression_list
    assert stored.sync_only_open_leads_and_active_contacts
    assert stored.campaign_sync_level is CampaignSyncLevel.SUMMARY
    assert not stored.disabled


def test_columns_read_well_and_hold_no_secret(runtime: Runtime) -> None:
    runtime.accounts.save(
        EmailAccount(account_id="a2", name="US", api_password_secret_name="US_DD_PASSWORD")
    )
    row = runtime.tables.client("EmailAccounts").get_entity("a2", "Account")

    assert row["AccountName"] == "US"
    assert row["AccountDisabled"] is False
    assert row["SyncOnlyOpenLeadsAndActiveContacts"] is True
    assert row["ApiPasswordSecretName"] == "US_DD_PASSWORD"
    assert not any(k.lower() == "password" for k in row)


def test_list_and_missing(runtime: Runtime) -> None:
    runtime.accounts.save(EmailAccount(account_id="x1", name="One"))
    runtime.accounts.save(EmailAccount(account_id="x2", name="Two", disabled=True))

    assert sorted(a.account_id for a in runtime.accounts.all()) == ["x1", "x2"]
    assert runtime.accounts.get("nope") is None
