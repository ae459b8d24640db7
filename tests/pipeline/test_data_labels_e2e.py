"""DataLabels through the whole pipeline against the Dotdigital sandbox, both directions."""

from __future__ import annotations

import pytest

from sandbox.dotdigital.app import DATA_FIELDS
from sandbox.dotdigital.state import DataFieldRecord
from shared.accounts import EmailAccount
from shared.audit import AuditStatus
from shared.localhost.host import LocalHost
from shared.runtime import Runtime
from shared.storage.data_labels_repo import DataLabel, LabelOrigin, LabelType
from shared.sync.data_labels import CUSTOM_FIELD_LIMIT
from shared.sync.marketing_lists.data_out import DATA_LABELS_GATE
from shared.sync_types import SyncType
from tests.fixtures.runtime import ManualClock
from tests.fixtures.sandboxes import DotdigitalSandbox
from tests.pipeline.helpers import run_scheduled

LABELS = SyncType.DATA_LABELS


def test_platform_fields_become_labels_and_our_labels_become_private_fields(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:  # fmt: skip
    state = dotdigital_sandbox.state
    state.data_fields.append(DataFieldRecord("FAVOURITESTORE", "String", "Public", "Leeds"))
    sync_runtime.data_labels.save(
        "acme",
        DataLabel(name="SALUTATION", default_value="Customer", description="Greeting line"),
    )

    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)

    assert audit.status is AuditStatus.COMPLETED, audit.message
    created_on_platform = state.field("SALUTATION")
    assert created_on_platform is not None
    assert created_on_platform.visibility == "Private"
    assert created_on_platform.default_value == "Customer"
    assert created_on_platform.type == "String"
    store = sync_runtime.data_labels.get("acme", "FAVOURITESTORE")
    assert store is not None and store.origin is LabelOrigin.PLATFORM
    assert (store.is_private, store.default_value, store.is_synchronised) == (False, "Leeds", True)
    ours = sync_runtime.data_labels.get("acme", "SALUTATION")
    assert ours is not None and ours.is_synchronised and ours.description == "Greeting line"
    platform_fields = len(state.data_fields) - 1  # before SALUTATION was added
    assert audit.counts.read == platform_fields
    assert audit.counts.created == platform_fields + 1


def test_a_second_run_with_nothing_new_changes_nothing(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:  # fmt: skip
    run_scheduled(sync_runtime, host, clock, "acme", LABELS)
    posts_before = dotdigital_sandbox.state.counters.count("POST", DATA_FIELDS)

    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)

    assert (audit.counts.created, audit.counts.updated, audit.counts.failed) == (0, 0, 0)
    assert dotdigital_sandbox.state.counters.count("POST", DATA_FIELDS) == posts_before


def test_refused_label_is_audited_with_the_product_message_and_others_carry_on(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:  # fmt: skip
    sync_runtime.data_labels.save("acme", DataLabel(name="Loyalty Tier!"))
    sync_runtime.data_labels.save("acme", DataLabel(name="TIER", type=LabelType.NUMERIC))

    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert (
        audit.message
        == "ERROR_DATAFIELD_INVALID - Failed to sync dataLabel Loyalty Tier! to Dotdigital"
    )
    assert audit.counts.failed == 1
    assert dotdigital_sandbox.state.field("TIER") is not None
    refused = sync_runtime.data_labels.get("acme", "Loyalty Tier!")
    assert refused is not None and not refused.is_synchronised
    assert refused.last_error == audit.message
    record = sync_runtime.schedules.get("acme", LABELS)
    assert record.last_status == "Completed With Errors"


def test_a_refused_label_alone_completes_with_errors_and_blocks_no_list_sync(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
) -> None:  # fmt: skip
    # The product fails a DataLabels sync (and so holds back the marketing list sync) only
    # when the sync itself fails; a label the platform refuses is an error of that label.
    sync_runtime.data_labels.save("acme", DataLabel(name="x" * 25))

    first = run_scheduled(sync_runtime, host, clock, "acme", LABELS)
    again = run_scheduled(sync_runtime, host, clock, "acme", LABELS)  # nothing else to do

    for audit in (first, again):
        assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
        assert audit.message.startswith("ERROR_DATAFIELD_INVALID - Failed to sync dataLabel xxx")
        assert audit.counts.failed == 1
    assert DATA_LABELS_GATE.refusal(sync_runtime, acme) is None


def test_non_unique_field_is_reported_with_its_code(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:  # fmt: skip
    # The field appears on the platform between our read and our create (another user).
    sync_runtime.data_labels.save("acme", DataLabel(name="REGION"))
    dotdigital_sandbox.state.hidden_from_list = {"REGION"}
    dotdigital_sandbox.state.data_fields.append(DataFieldRecord("REGION", "String"))

    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)

    assert audit.message == (
        "ERROR_NON_UNIQUE_DATAFIELD - Failed to sync dataLabel REGION to Dotdigital"
    )


@pytest.mark.parametrize("where", ["ours", "platform"])
def test_custom_field_limit(
    where: str, sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    dotdigital_sandbox: DotdigitalSandbox,
) -> None:  # fmt: skip
    state = dotdigital_sandbox.state
    if where == "ours":  # the account is full: we do not even ask
        state.data_fields += [DataFieldRecord(f"F{n}", "String") for n in range(CUSTOM_FIELD_LIMIT)]
    else:  # a smaller plan: the platform refuses
        state.custom_field_limit = 2
        state.data_fields += [DataFieldRecord(f"F{n}", "String") for n in range(2)]
    sync_runtime.data_labels.save("acme", DataLabel(name="ONEMORE"))
    posts_before = state.counters.count("POST", DATA_FIELDS)

    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)

    assert audit.status is AuditStatus.COMPLETED_WITH_ERRORS
    assert audit.message.startswith(
        "ERROR_DATAFIELD_LIMITEXCEEDED - Failed to sync dataLabel ONEMORE"
    )
    posts = state.counters.count("POST", DATA_FIELDS) - posts_before
    assert posts == (0 if where == "ours" else 1)


def test_wrong_or_missing_platform_password_fails_with_what_to_do(
    sync_runtime: Runtime, acme: EmailAccount, host: LocalHost, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ACME_DOTDIGITAL_PASSWORD", "not-the-password")
    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)
    assert audit.status is AuditStatus.FAILED
    assert "Authorization has been denied" in audit.message
    assert "not-the-password" not in audit.message

    monkeypatch.delenv("ACME_DOTDIGITAL_PASSWORD")
    sync_runtime._dotdigital.clear()
    audit = run_scheduled(sync_runtime, host, clock, "acme", LABELS)
    assert audit.status is AuditStatus.FAILED
    assert "ACME_DOTDIGITAL_PASSWORD" in audit.message and "app setting" in audit.message
