"""Key Vault references (`@Microsoft.KeyVault(...)`) the platform left unresolved in app settings.

App Service replaces a reference with the secret before the app starts; when it cannot (no
access, no such secret, the vault's firewall), the setting keeps the reference text itself,
which would otherwise reach an API as a password and come back as a 401 far from its cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

PREFIX = "@microsoft.keyvault("

WHAT_TO_CHECK = (
    "Check that the secret exists and is enabled in that vault, that the identity resolving it "
    "(the Function App's managed identity in Azure; your `az login` under Core Tools) has the "
    "Key Vault Secrets User role on the vault, and that the vault's network rules let it in "
    "(in Azure, the Function App's Environment variables page shows each reference's status); "
    "then restart the app. The project's local host resolves no references: put the value "
    "itself in local.settings.json."
)


def is_reference(value: str) -> bool:
    """The value is a Key Vault reference, well-formed or not (both stay unresolved)."""
    return value.strip().lower().startswith(PREFIX)


def where(reference: str) -> str:
    """The vault and secret a reference names (neither is secret), for the operator to check."""
    body = reference.strip()[len(PREFIX) :].removesuffix(")")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        key, _, value = part.partition("=")
        parts[key.strip().lower()] = value.strip()
    vault, secret = parts.get("vaultname", ""), parts.get("secretname", "")
    if "secreturi" in parts:
        # https://<vault>.vault.azure.net/secrets/<name>[/<version>]
        uri = urlsplit(parts["secreturi"])
        vault = (uri.hostname or "").split(".", 1)[0]
        path = [segment for segment in uri.path.split("/") if segment]
        secret = path[1] if len(path) > 1 and path[0].lower() == "secrets" else ""
    if not vault or not secret:
        return "a reference naming no vault and secret: fix its syntax"
    return f"vault '{vault}', secret '{secret}'"


def unresolved_message(found: Sequence[tuple[str, str]], *, owner: str = "") -> str:
    """One line naming each setting (with what its reference names) and what to check.

    `found`: (setting name, its reference); `owner`: who names the setting (an email account).
    """
    named = "; ".join(f"{name} ({where(reference)})" for name, reference in found)
    by = f" named by {owner}" if owner else ""
    if len(found) > 1:
        return (
            f"App settings {named}{by} are still Key Vault references: the platform did not "
            f"resolve them, so the app would send the reference text instead of the secret. "
            f"{WHAT_TO_CHECK}"
        )
    return (
        f"App setting {named}{by} is still a Key Vault reference: the platform did not resolve "
        f"it, so the app would send the reference text instead of the secret. {WHAT_TO_CHECK}"
    )
