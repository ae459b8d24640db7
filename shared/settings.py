"""App settings, read once from the environment under the names Azure and the local host use.

The same names appear in `local.settings.example.json`, in the Function App's app settings
(where secrets are Key Vault references) and in the local host's environment.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigurationError
from shared.vault_references import is_reference, unresolved_message

HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 600.0  # Consumption plan default; host.json may say less


def host_function_timeout(host_json: Path = HOST_JSON) -> float:
    """host.json's `functionTimeout` in seconds (the host kills a function running longer)."""
    try:
        value = json.loads(host_json.read_text(encoding="utf-8")).get("functionTimeout")
    except (OSError, ValueError):
        return DEFAULT_FUNCTION_TIMEOUT_SECONDS
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d)", str(value or ""))
    if not match:
        return DEFAULT_FUNCTION_TIMEOUT_SECONDS
    hours, minutes, seconds = (int(part) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


# The error type a setting still holding a Key Vault reference fails validation with.
UNRESOLVED_REFERENCE = "unresolved_key_vault_reference"
# An origin a browser may frame the console in: https, a host (its first label may be `*`, any
# subdomain), an optional port; no path. CSP's frame-ancestors takes these as they are.
FRAME_ORIGIN = re.compile(r"https://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?", re.IGNORECASE)


class QueueBackend(StrEnum):
    SERVICE_BUS = "ServiceBus"
    STORAGE_QUEUE = "StorageQueue"


class DataverseCredential(StrEnum):
    """How the Dataverse client signs in: the app's client secret (the function app), or the
    Azure CLI's signed-in identity (operators and the deploy workflow's provisioning job)."""

    CLIENT_SECRET = "ClientSecret"
    AZURE_CLI = "AzureCli"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Host storage doubles as the product's Table Storage (and the local queue).
    storage_connection_string: SecretStr | None = Field(
        default=None, validation_alias="AzureWebJobsStorage"
    )
    storage_account_name: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__accountName"
    )
    storage_table_service_uri: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__tableServiceUri"
    )
    storage_queue_service_uri: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__queueServiceUri"
    )
    managed_identity_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID"),
    )

    service_bus_connection_string: SecretStr | None = Field(
        default=None, validation_alias="ServiceBusConnection"
    )
    service_bus_namespace: str | None = Field(
        default=None, validation_alias="ServiceBusConnection__fullyQualifiedNamespace"
    )
    queue_backend: QueueBackend = Field(
        default=QueueBackend.SERVICE_BUS, validation_alias="SYNC_QUEUE_BACKEND"
    )
    queue_name: str = Field(default="sync-requests", validation_alias="SYNC_QUEUE_NAME")
    table_prefix: str = Field(
        default="", pattern=r"^[A-Za-z0-9]*$", validation_alias="TABLE_PREFIX"
    )

    dataverse_url: str | None = Field(default=None, validation_alias="DATAVERSE_URL")
    dataverse_tenant_id: str | None = Field(default=None, validation_alias="DATAVERSE_TENANT_ID")
    dataverse_client_id: str | None = Field(default=None, validation_alias="DATAVERSE_CLIENT_ID")
    dataverse_client_secret: SecretStr | None = Field(
        default=None, validation_alias="DATAVERSE_CLIENT_SECRET"
    )
    dataverse_credential: DataverseCredential = Field(
        default=DataverseCredential.CLIENT_SECRET, validation_alias="DATAVERSE_CREDENTIAL"
    )
    dataverse_authority_host: str = Field(
        default="https://login.microsoftonline.com", validation_alias="DATAVERSE_AUTHORITY_HOST"
    )
    # Requests in flight per worker process; Dataverse allows 52 per user across all instances,
    # so instances x maxConcurrentCalls x this stays under 52 (README "Concurrency").
    dataverse_max_concurrency: int = Field(
        default=4, ge=1, le=52, validation_alias="DATAVERSE_MAX_CONCURRENCY"
    )
    # The solution `python -m shared dataverse provision` puts the connector's tables in.
    dataverse_solution: str = Field(
        default="DynamicsMarketingSync",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,64}$",
        validation_alias="DATAVERSE_SOLUTION",
    )
    dotdigital_discovery_url: str = Field(
        default="https://r1-api.dotdigital.com", validation_alias="DOTDIGITAL_DISCOVERY_URL"
    )
    key_vault_url: str | None = Field(default=None, validation_alias="KEY_VAULT_URL")
    # Only for the sandboxes' self-signed TLS; real services use the system trust store.
    http_ca_bundle: Path | None = Field(default=None, validation_alias="HTTP_CA_BUNDLE")
    http_timeout_seconds: float = Field(
        default=121.0, gt=0, validation_alias="HTTP_TIMEOUT_SECONDS"
    )
    http_max_retries: int = Field(default=5, ge=0, le=20, validation_alias="HTTP_MAX_RETRIES")
    http_max_wait_seconds: float = Field(
        default=300.0, gt=0, validation_alias="HTTP_MAX_WAIT_SECONDS"
    )

    run_time_budget_seconds: float = Field(
        default=240.0, gt=0, validation_alias="RUN_TIME_BUDGET_SECONDS"
    )
    # Longer than a slice can take (budget + one HTTP timeout + margin; checked below), so a
    # live worker never loses its run to a second one.
    run_lease_seconds: float = Field(default=420.0, gt=0, validation_alias="RUN_LEASE_SECONDS")
    # A run that fails with a retriable error (an API down past the HTTP retries, a lost race)
    # continues from its last checkpoint this many times, this long apart, before it fails.
    run_retry_limit: int = Field(default=3, ge=0, le=20, validation_alias="RUN_RETRY_LIMIT")
    run_retry_delay_seconds: float = Field(
        default=300.0, ge=0, validation_alias="RUN_RETRY_DELAY_SECONDS"
    )
    # What a worker does after a slice's budget and its last request (the audit row, the
    # schedule row, the follow-up message): leases and the host's timeout leave room for it.
    slice_margin_seconds: float = Field(default=30.0, ge=0, validation_alias="SLICE_MARGIN_SECONDS")
    # Pause between a paused slice and its follow-up message (tests set 0).
    continuation_delay_seconds: float = Field(
        default=1.0, ge=0, validation_alias="CONTINUATION_DELAY_SECONDS"
    )
    queued_timeout_seconds: float = Field(
        default=3600.0, gt=0, validation_alias="QUEUED_TIMEOUT_SECONDS"
    )
    # How long one scheduler tick may enqueue before it leaves the rest to the next (timer: 60 s).
    scheduler_tick_budget_seconds: float = Field(
        default=45.0, gt=0, validation_alias="SCHEDULER_TICK_BUDGET_SECONDS"
    )
    audit_retention_days: int = Field(default=30, ge=1, validation_alias="AUDIT_RETENTION_DAYS")
    # The key Dataverse sends with each webhook post (`?code=`, or the header or query value
    # registered); in Azure also the webhook function's key. Unset: every post is refused.
    dynamics_webhook_key: SecretStr | None = Field(
        default=None, validation_alias="DYNAMICS_WEBHOOK_KEY"
    )
    # Webhook events within this window become one run per (account, sync type).
    webhook_coalesce_seconds: float = Field(
        default=5.0, ge=0, le=300, validation_alias="WEBHOOK_COALESCE_SECONDS"
    )
    # Who may show the operator console in a frame besides the console itself: Dynamics 365
    # orgs (the email account form's iframe or web resource). Space-separated https origins.
    console_frame_ancestors: str = Field(
        default="https://*.dynamics.com", validation_alias="CONSOLE_FRAME_ANCESTORS"
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigurationError(_refusal(error.errors())) from None

    @field_validator("*", mode="before")
    @classmethod
    def _not_an_unresolved_reference(cls, value: object) -> object:
        # Checked before any other rule: "not a number" would hide what is really wrong.
        if isinstance(value, str) and is_reference(value):
            raise PydanticCustomError(UNRESOLVED_REFERENCE, "unresolved", {"reference": value})
        return value

    @field_validator("console_frame_ancestors")
    @classmethod
    def _https_origins(cls, value: str) -> str:
        origins = value.split()
        if not all(FRAME_ORIGIN.fullmatch(origin) for origin in origins):
            raise ValueError(
                "must be https origins separated by spaces, such as 'https://*.dynamics.com "
                "https://contoso.crm4.dynamics.com' (scheme and host only: no path, no http); "
                "empty lets only the console itself frame its pages"
            )
        return " ".join(origins)

    @model_validator(mode="after")
    def _slices_fit_lease_and_host(self) -> Settings:
        longest = self.longest_slice_seconds
        if self.run_lease_seconds <= longest:
            raise ValueError(
                f"RUN_LEASE_SECONDS ({self.run_lease_seconds:g}) must be longer than "
                f"RUN_TIME_BUDGET_SECONDS + HTTP_TIMEOUT_SECONDS + SLICE_MARGIN_SECONDS "
                f"({longest:g} s), the longest a slice can take; a shorter lease lets a second "
                "worker take over a run that is still running"
            )
        host_limit = host_function_timeout()
        if longest > host_limit:
            raise ValueError(
                f"RUN_TIME_BUDGET_SECONDS + HTTP_TIMEOUT_SECONDS + SLICE_MARGIN_SECONDS "
                f"({longest:g} s) must fit host.json's functionTimeout ({host_limit:g} s), or "
                "the host stops a slice before its audit is written"
            )
        return self

    @property
    def longest_slice_seconds(self) -> float:
        """A slice stops starting waits at its budget; one request may still be in flight."""
        return self.run_time_budget_seconds + self.http_timeout_seconds + self.slice_margin_seconds

    def require_storage(self) -> str:
        """The storage account name for identity-based access (when no connection string)."""
        if not self.storage_account_name:
            raise ConfigurationError(
                "No storage configured: set AzureWebJobsStorage (a connection string) or "
                "AzureWebJobsStorage__accountName (managed identity with Storage Table and Queue "
                "Data Contributor roles)."
            )
        return self.storage_account_name

    def require(self, *names: str) -> None:
        """Fail with one error that names every missing setting (by its app-setting name)."""
        missing = []
        for name in names:
            if getattr(self, name) in (None, ""):
                field = type(self).model_fields[name]
                alias = field.validation_alias
                missing.append(alias if isinstance(alias, str) else name)
        if missing:
            raise ConfigurationError(
                "Missing app settings: " + ", ".join(missing) + ". Set them in the Function App "
                "configuration (or local.settings.json for the local host) and restart."
            )


def _refusal(errors: list[ErrorDetails]) -> str:
    """One line naming every setting refused; never a value (it may be a secret)."""
    unresolved = [
        (_where(e["loc"]), str(e.get("ctx", {})["reference"]))
        for e in errors
        if e["type"] == UNRESOLVED_REFERENCE
    ]
    invalid = [e for e in errors if e["type"] != UNRESOLVED_REFERENCE]
    parts = [unresolved_message(unresolved)] if unresolved else []
    if invalid:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in invalid)
        parts.append(
            f"Invalid app settings: {problems}. Fix them in the Function App configuration "
            "(or local.settings.json for the local host) and restart."
        )
    return " ".join(parts)


def app_setting_names() -> set[str]:
    """Every app-setting name the product's settings read (aliases included)."""
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(name for name in choices if isinstance(name, str))
    return names


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    where = _where(location)
    return f"{where}: {message}" if where else message


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
