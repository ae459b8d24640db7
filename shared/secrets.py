"""Platform credentials, resolved by NAME: an app setting first, then Key Vault.

In Azure an app setting may itself be a Key Vault reference, which App Service resolves; when
KEY_VAULT_URL is set, secrets can also be read straight from the vault by name.
"""

from __future__ import annotations

import os
import re

from pydantic import SecretStr

from shared.errors import ConfigurationError
from shared.settings import Settings
from shared.vault_references import is_reference, unresolved_message


def resolve_secret(name: str, settings: Settings, *, owner: str) -> SecretStr:
    if not name:
        raise ConfigurationError(
            f"{owner} names no password secret: set its ApiPasswordSecretName to the name of an "
            "app setting or Key Vault secret that holds the API user's password."
        )
    value = os.environ.get(name)
    if value and is_reference(value):
        # Sent as a password, the reference text would only come back as the platform's 401.
        raise ConfigurationError(unresolved_message([(name, value)], owner=owner))
    if value:
        return SecretStr(value)
    if settings.key_vault_url:
        from azure.core.exceptions import ResourceNotFoundError
        from azure.keyvault.secrets import SecretClient

        from shared.identity import azure_credential

        client = SecretClient(settings.key_vault_url, azure_credential(settings))
        vault_name = re.sub(r"[^A-Za-z0-9-]", "-", name)  # vault names allow letters, digits, -
        try:
            secret = client.get_secret(vault_name).value
        except ResourceNotFoundError:
            secret = None
        if secret:
            return SecretStr(secret)
    raise ConfigurationError(
        f"The secret '{name}' named by {owner} is not set: add an app setting '{name}'"
        + (" or a Key Vault secret of that name." if settings.key_vault_url else ".")
    )
