"""Mappings through the admin layer on Azurite: provisioning defaults, validation, refusal."""

from __future__ import annotations

import pytest

from shared.accounts import EmailAccount
from shared.mappings.model import DataMapping, DuplicateMapping, MappedEntity, MappingError
from shared.pipeline import admin
from shared.runtime import Runtime
from shared.storage.crm_fields_repo import CrmField
from shared.storage.data_labels_repo import DataLabel


def test_provisioning_creates_defaults_once(runtime: Runtime) -> None:
    account = EmailAccount(account_id="new1", name="New")
    admin.provision_account(runtime, account)
    admin.provision_account(runtime, account)  # again: no duplicates, no error

    mappings = runtime.mappings.for_account("new1")
    assert len(mappings) == 8 and all(m.is_default for m in mappings)


def test_add_mapping_validates_and_saves_nothing_on_error(
    runtime: Runtime, account: EmailAccount
) -> None:
    runtime.crm_fields.upsert(
        "acme",
        [CrmField(entity="contact", logical_name="jobtitle", display_name="Job Title",
                  attribute_type="String")],
    )  # fmt: skip
    runtime.data_labels.save("acme", DataLabel(name="JOBTITLE"))

    with pytest.raises(MappingError, match="no mappable field 'job'"):
        admin.add_mapping(runtime, "acme", DataMapping(
            label="JOBTITLE", entity=MappedEntity.CONTACT, primary_field="job"))  # fmt: skip
    assert runtime.mappings.for_account("acme") == []

    good = DataMapping(label="JOBTITLE", entity=MappedEntity.CONTACT, primary_field="jobtitle")
    admin.add_mapping(runtime, "acme", good)
    with pytest.raises(DuplicateMapping, match="already exists"):
        admin.add_mapping(runtime, "acme", good)
    assert runtime.mappings.for_account("acme") == [good]
