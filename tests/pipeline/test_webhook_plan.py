"""The webhook plan as data: filtering attributes over every account's mappings, the images,
the key's carriers per authentication option, and the URLs refused."""

from __future__ import annotations

import pytest

from shared.errors import BadInputError
from shared.mappings.model import DataMapping, MappedEntity, MappingDirection
from shared.pipeline.webhook_plan import AuthOption, check_url, key_check, planned_steps

KEY = "a-test-key"


def _map(label: str, entity: MappedEntity, field: str, **more: object) -> DataMapping:
    return DataMapping(label=label, entity=entity, primary_field=field, **more)  # type: ignore[arg-type]


def test_filtering_attributes_are_the_union_of_every_accounts_watched_columns() -> None:
    first = [
        _map("EMAIL", MappedEntity.ACCOUNT, "emailaddress2"),  # this account's email column
        _map("NAME", MappedEntity.ACCOUNT, "name"),
    ]
    second = [
        _map("PHONE", MappedEntity.ACCOUNT, "telephone1", direction=MappingDirection.BOTH),
        _map("NOTE", MappedEntity.ACCOUNT, "description", direction=MappingDirection.TO_DYNAMICS),
        _map(
            "COMPANY",
            MappedEntity.CONTACT,
            "parentcustomerid",
            linked_entity="account",
            linked_field="name",
        ),
    ]
    plan = {(s.message, s.table): s for s in planned_steps([first, second])}

    account = plan[("Update", "account")]
    assert account.filtering == (
        "description", "emailaddress1", "emailaddress2", "name", "statecode", "telephone1"
    )  # fmt: skip
    assert account.image is not None and account.image.alias == "PostImage"
    # A linked field is watched through its lookup column on the record that holds it.
    assert "parentcustomerid" in plan[("Update", "contact")].filtering
    delete = plan[("Delete", "account")]
    assert delete.filtering == ()
    assert delete.image is not None and delete.image.alias == "PreImage"
    assert delete.image.attributes == ("emailaddress1", "emailaddress2")
    assert plan[("Associate", "none")].image is None
    assert len(plan) == 13


def test_without_accounts_the_members_steps_watch_email_and_state() -> None:
    plan = {(s.message, s.table): s for s in planned_steps([])}
    for entity in ("contact", "lead", "account"):
        assert plan[("Update", entity)].filtering == ("emailaddress1", "statecode")


def test_each_authentication_option_carries_the_key_its_own_way() -> None:
    assert AuthOption.WEBHOOK_KEY.auth_value(KEY) == KEY
    assert AuthOption.HTTP_HEADER.auth_value(KEY) == (
        '<settings><setting name="x-functions-key" value="a-test-key" /></settings>'
    )
    assert AuthOption.HTTP_QUERY_STRING.auth_value('k"<&') == (
        '<settings><setting name="code" value="k&quot;&lt;&amp;" /></settings>'
    )
    assert [o.auth_type for o in AuthOption] == [4, 5, 6]
    assert key_check(KEY) != key_check(KEY + "x") and KEY not in key_check(KEY)


@pytest.mark.parametrize(
    "url",
    ["connector.example.invalid/api", "ftp://h/x", "https:///nohost", "https://h/x?a=1&Code=k"],
)
def test_urls_refused(url: str) -> None:
    with pytest.raises(BadInputError):
        check_url(url)


def test_a_url_with_other_query_parameters_is_kept() -> None:
    assert check_url(" http://localhost:7071/api/dynamics/webhook?x=1 ") == (
        "http://localhost:7071/api/dynamics/webhook?x=1"
    )
