"""Every app setting the code reads is in the README's settings table and in
local.settings.example.json (with the code's defaults), so the three cannot drift apart."""

from __future__ import annotations

import json
import re

from pydantic import AliasChoices

from shared.azurite import PROJECT_ROOT
from shared.settings import Settings

README = (PROJECT_ROOT / "README.md").read_text()
EXAMPLE = json.loads((PROJECT_ROOT / "local.settings.example.json").read_text())["Values"]
# The Functions host's own settings, which the product's code does not read.
HOST_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME"}
# Alternatives to a setting the example has (managed identity instead of a connection string,
# or the reverse) and the sandboxes' CA: an empty value in the example would still be read.
NOT_IN_EXAMPLE = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__clientId",
    "AZURE_CLIENT_ID",
    "ServiceBusConnection",
    "HTTP_CA_BUNDLE",
}


def code_settings() -> dict[str, str]:
    """App-setting name -> Settings field, for every name the code reads."""
    names = {}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        for name in alias.choices if isinstance(alias, AliasChoices) else [alias]:
            assert isinstance(name, str)
            names[name] = field_name
    return names


def readme_table() -> set[str]:
    section = README.split("### 3. Settings", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Za-z_]+)`", row.split(" | ")[0])}


def password_setting() -> str:
    """The setting the README's account example (`accounts add`) names for the platform
    password."""
    section = README.split("### 5. Email accounts", 1)[1].split("\n### ", 1)[0]
    match = re.search(r"accounts add .*--password-setting ([A-Z_]+)", section.replace("\\\n", " "))
    assert match, "the README's account example names its password setting"
    return match.group(1)


def test_every_setting_the_code_reads_is_in_the_readme_table() -> None:
    assert set(code_settings()) - readme_table() == set()


def test_the_readme_table_names_only_settings_that_exist() -> None:
    assert readme_table() - set(code_settings()) - {password_setting()} == set()


def test_the_example_has_every_setting_but_the_alternatives_and_nothing_else() -> None:
    expected = set(code_settings()) - NOT_IN_EXAMPLE
    assert set(EXAMPLE) - HOST_SETTINGS - {password_setting()} == expected
    assert NOT_IN_EXAMPLE - set(code_settings()) == set()  # each alternative still exists


def test_the_examples_password_setting_is_the_one_the_readme_account_names() -> None:
    assert password_setting() in EXAMPLE
    assert password_setting() in readme_table()


def test_the_example_tunables_are_the_code_defaults() -> None:
    fields = code_settings()
    for name, value in EXAMPLE.items():
        field = Settings.model_fields.get(fields.get(name, ""))
        if field is None or not isinstance(field.default, int | float):
            continue
        copied = getattr(Settings(**{name: value}), fields[name])
        assert copied == field.default, f"{name}: example {value}, code default {field.default}"
