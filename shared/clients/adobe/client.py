"""Adobe Campaign Standard REST API client: IMS OAuth server-to-server tokens (`auth`), the
transport with its error mapping (`transport`, `errors`), profiles and custom resources
(`resources`), their fields and types (`metadata`), workflows and signals (`workflows`), typed
reads (`models`), and the Adobe I/O Events journal of email events (`journal`).

`AdobeCampaignClient.connect()` builds one from an account's connection settings; building
does no I/O (the first call fetches the token).
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from shared.clients.adobe.auth import ImsTokenProvider
from shared.clients.adobe.journal import EventJournalClient
from shared.clients.adobe.metadata import MetadataApi
from shared.clients.adobe.resources import ResourcesApi
from shared.clients.adobe.workflows import WorkflowsApi
from shared.clients.retry import RetryPolicy


class AdobeCampaignClient(ResourcesApi, MetadataApi, WorkflowsApi):
    @classmethod
    def connect(
        cls,
        base_url: str,
        ims_url: str,
        client_id: str,
        client_secret: SecretStr,
        scopes: str,
        *,
        http: httpx.Client,
        retry: RetryPolicy,
    ) -> AdobeCampaignClient:
        tokens = ImsTokenProvider(ims_url, client_id, client_secret, scopes, http=http, retry=retry)
        return cls(base_url, tokens, http=http, retry=retry)

    def journal(self, journal_url: str, ims_org_id: str) -> EventJournalClient:
        """The Adobe I/O Events journal of an event registration, read with this client's
        credential (the project holds the Campaign, I/O Events and I/O Management APIs)."""
        return EventJournalClient(
            journal_url, ims_org_id, self.tokens, http=self._http, retry=self._retry
        )

    def check_connection(self) -> str:
        """Test Connection: a token, then the cheapest read (one profile); a description."""
        self.tokens.token()
        page = self.read_page("profile", line_count=1, extended=False)  # no extension needed
        seen = "profiles readable" if page.items else "no profiles yet"
        return f"token issued to client id {self.tokens.client_id}; {seen}"
