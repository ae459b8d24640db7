"""Email accounts: list, add, show, edit, disable and enable, Test Connection."""

from __future__ import annotations

from fastapi import APIRouter

from shared.accounts import EmailAccount
from shared.api.params import AccountId, Rt
from shared.api.problems import documented
from shared.service import accounts
from shared.service.accounts import AccountChanges, ConnectionTest

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("", responses=documented())
def list_accounts(rt: Rt) -> list[EmailAccount]:
    return accounts.list_accounts(rt)


@router.post("", status_code=201, responses=documented(409))
def add_account(rt: Rt, account: EmailAccount) -> EmailAccount:
    """Save a new account with its default mappings and every schedule (Manual until set)."""
    return accounts.add_account(rt, account)


@router.get("/{accountId}", responses=documented(404))
def get_account(rt: Rt, account_id: AccountId) -> EmailAccount:
    return accounts.get_account(rt, account_id)


@router.patch("/{accountId}", responses=documented(404))
def edit_account(rt: Rt, account_id: AccountId, changes: AccountChanges) -> EmailAccount:
    """Fields left out keep their value."""
    return accounts.edit_account(rt, account_id, changes)


@router.post("/{accountId}/disable", responses=documented(404))
def disable_account(rt: Rt, account_id: AccountId) -> EmailAccount:
    """A disabled account keeps its schedules; nothing runs for it until it is enabled."""
    return accounts.set_enabled(rt, account_id, enabled=False)


@router.post("/{accountId}/enable", responses=documented(404))
def enable_account(rt: Rt, account_id: AccountId) -> EmailAccount:
    return accounts.set_enabled(rt, account_id, enabled=True)


@router.post("/{accountId}/test-connection", responses=documented(404))
def test_connection(rt: Rt, account_id: AccountId) -> ConnectionTest:
    """Sign in to the platform's API with the stored user and password setting: `success`
    false carries the platform's own message (or what is missing in the settings)."""
    return accounts.test_connection(rt, account_id)
