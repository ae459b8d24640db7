"""Managed identity for Azure resources (Storage, Service Bus, Key Vault)."""

from __future__ import annotations

from azure.identity import DefaultAzureCredential

from shared.settings import Settings


def azure_credential(settings: Settings) -> DefaultAzureCredential:
    # A user-assigned identity is named by its client id; without one the system identity is used.
    return DefaultAzureCredential(managed_identity_client_id=settings.managed_identity_client_id)
