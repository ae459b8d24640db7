"""Every limit Adobe's integration sets on a configuration, refused before anything is saved."""

from __future__ import annotations

import pytest

from shared.errors import BadInputError, ConflictError
from shared.storage.adobe_config_model import (
    AdobeConfig,
    CampaignOptOut,
    Comparison,
    FieldMapping,
    FilterRule,
    OptOutPair,
    OptOutSettings,
    Replacement,
    TableMapping,
    default_profile_mapping,
)
from shared.sync.adobe.limits import check


def _custom(n: int, fields: int = 0, linked: int = 0) -> TableMapping:
    key = FieldMapping(dynamics_field=f"new_t{n}id", campaign_field="crmId")
    return TableMapping(
        dynamics_table=f"new_t{n}",
        campaign_resource=f"cusT{n}",
        campaign_key="crmId",
        fields=[key]
        + [FieldMapping(dynamics_field=f"new_c{i}", campaign_field=f"c{i}") for i in range(fields)]
        + [
            FieldMapping(dynamics_field=f"new_l{i}.name", campaign_field=f"l{i}")
            for i in range(linked)
        ],
    )


def _config(*tables: TableMapping) -> AdobeConfig:
    return AdobeConfig(account_id="acs", tables=list(tables))


def _refused(config: AdobeConfig, kind: type[Exception]) -> str:
    with pytest.raises(kind) as caught:
        check(config)
    return str(caught.value)


def test_twenty_tables_are_allowed_and_a_twenty_first_is_refused() -> None:
    check(_config(default_profile_mapping(), *(_custom(n) for n in range(19))))
    message = _refused(
        _config(default_profile_mapping(), *(_custom(n) for n in range(20))), BadInputError
    )
    assert message.startswith("'acs' maps 20 Dynamics tables already")
    assert "`adobe mappings remove-table acs TABLE`" in message


def test_fifty_columns_a_table_and_not_fifty_one() -> None:
    check(_config(_custom(1, fields=49)))
    message = _refused(_config(_custom(1, fields=50)), BadInputError)
    assert "would map 51 columns; Adobe Campaign allows 50 a table" in message


def test_link_depth_two_and_five_linked_columns_a_resource() -> None:
    deep = _custom(1)
    deep.fields.append(FieldMapping(dynamics_field="a.b.name", campaign_field="ok"))
    check(_config(deep))
    deep.fields.append(FieldMapping(dynamics_field="a.b.c.name", campaign_field="tooDeep"))
    assert "goes through 3 lookups; Adobe Campaign allows a link depth of 2" in _refused(
        _config(deep), BadInputError
    )
    check(_config(_custom(1, linked=5)))
    assert "would have 6 linked columns; Adobe Campaign allows 5 a resource" in _refused(
        _config(_custom(1, linked=6)), BadInputError
    )


def test_each_table_resource_and_campaign_field_is_mapped_once() -> None:
    twice = _custom(1)
    assert "'new_t1' is mapped already" in _refused(_config(twice, _custom(1)), ConflictError)
    other = _custom(2)
    other.campaign_resource = "cusT1"
    assert "resource 'cusT1' is mapped already" in _refused(_config(twice, other), ConflictError)
    profile = default_profile_mapping()
    profile.fields.append(FieldMapping(dynamics_field="emailaddress2", campaign_field="email"))
    message = _refused(_config(profile), ConflictError)
    assert message == (
        "The Campaign field 'email' of profile is mapped already (emailaddress1, emailaddress2): "
        "several Dynamics fields cannot map to one Campaign field."
    )


def test_profiles_come_from_contacts_keyed_by_external_id_and_custom_resources_are_cus() -> None:
    lead = TableMapping(dynamics_table="lead", campaign_resource="profile",
                        campaign_key="externalId")  # fmt: skip
    assert "Profiles are mapped from contacts only" in _refused(_config(lead), BadInputError)
    contact = _custom(1)
    contact.dynamics_table = "contact"
    assert "Contacts map to profiles ('contact' -> cusT1" in _refused(
        _config(contact), BadInputError
    )
    keyed = default_profile_mapping()
    keyed.campaign_key = "email"
    assert "Profiles are keyed by externalId" in _refused(_config(keyed), BadInputError)
    plain = _custom(1)
    plain.campaign_resource = "loyalty"
    assert "start with 'cus'" in _refused(_config(plain), BadInputError)
    keyless = _custom(1)
    keyless.fields = keyless.fields[1:]
    assert "must map the Dynamics primary key to its key 'crmId'" in _refused(
        _config(keyless), BadInputError
    )


def test_replacements_need_a_mapped_field_and_one_rule_a_value() -> None:
    profile = default_profile_mapping()
    profile.replacements.append(Replacement(dynamics_field="gendercode", value="2", new_value="F"))
    assert "'gendercode' is not mapped" in _refused(_config(profile), BadInputError)
    profile.replacements = [
        Replacement(dynamics_field="firstname", value="Bob", new_value="Robert"),
        Replacement(dynamics_field="firstname", value="Bob", new_value="Bobby"),
    ]
    assert "'firstname' = 'Bob' has a replacement already" in _refused(
        _config(profile), ConflictError
    )


def test_a_filter_comparison_needs_its_value() -> None:
    profile = default_profile_mapping()
    profile.filter.rules.append(
        FilterRule(dynamics_field="address1_country", comparison=Comparison.EQUALS)
    )
    assert "'equals' needs a value" in _refused(_config(profile), BadInputError)
    profile.filter.rules = [
        FilterRule(dynamics_field="address1_country", comparison=Comparison.IS_EMPTY)
    ]
    check(_config(profile))


def test_opt_out_attributes_and_fields_are_mapped_once_and_deny_list_names_are_aliases() -> None:
    pair = OptOutPair(campaign_attribute="denyListEmail", dynamics_field="donotbulkemail")
    assert pair.campaign_attribute is CampaignOptOut.EMAIL
    email = OptOutPair(campaign_attribute="blackListEmail", dynamics_field="donotemail")
    twice = AdobeConfig(account_id="acs", opt_out=OptOutSettings(pairs=[pair, email]))
    assert "blackListEmail is mapped already" in _refused(twice, ConflictError)
    ccpa = OptOutPair(campaign_attribute="ccpaOptOut", dynamics_field="donotbulkemail")
    same_field = AdobeConfig(account_id="acs", opt_out=OptOutSettings(pairs=[pair, ccpa]))
    assert "'donotbulkemail' is mapped already" in _refused(same_field, ConflictError)
    with pytest.raises(ValueError, match="is not a Campaign opt-out attribute"):
        OptOutPair(campaign_attribute="unsubscribed", dynamics_field="donotemail")
