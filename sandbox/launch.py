"""Start the sandboxes (Dataverse and Adobe Campaign over TLS, Dotdigital over http) for the
demo and tests.

Dotdigital runs as two servers sharing one state: the discovery host (region r1, where
`GET /v2/account-info` is always called) and the account's own region (r2), whose URL
account-info reports as `ApiEndpoint`. Calls to the wrong region get 403, as they do for real.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sandbox.adobe import (
    DEMO_ACS_CLIENT_ID,
    DEMO_ACS_CLIENT_SECRET,
    DEMO_ORGANIZATION,
    AdobeState,
    create_adobe_app,
)
from sandbox.dataverse import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TENANT_ID,
    DataverseState,
    create_dataverse_app,
)
from sandbox.dotdigital import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DotdigitalState,
    create_dotdigital_app,
)
from sandbox.server import RunningServer, start_server
from sandbox.tls import TlsFiles, make_tls_files


@dataclass(frozen=True)
class DemoCredentials:
    """Obviously fake credentials the sandboxes accept."""

    tenant_id: str = DEMO_TENANT_ID
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    api_user: str = DEMO_API_USER
    api_password: str = DEMO_API_PASSWORD
    acs_organization: str = DEMO_ORGANIZATION
    acs_client_id: str = DEMO_ACS_CLIENT_ID
    acs_client_secret: str = DEMO_ACS_CLIENT_SECRET


@dataclass
class Sandboxes:
    dataverse_url: str  # org URL, Web API host and Entra authority host at once
    dotdigital_url: str  # discovery host (r1)
    dotdigital_api_endpoint: str  # the account's region (r2), no trailing slash
    dataverse: DataverseState
    dotdigital: DotdigitalState
    tls: TlsFiles
    credentials: DemoCredentials
    adobe_url: str  # the IMS host and the API host at once (https)
    adobe: AdobeState
    _servers: list[RunningServer] = field(default_factory=list, repr=False)
    _tls_dir: Path | None = field(default=None, repr=False)

    @property
    def ca_path(self) -> Path:
        return self.tls.ca_path

    @property
    def adobe_base_url(self) -> str:
        """The organization's API base, as `https://mc.adobe.io/<ORG>/campaign` is for real."""
        return f"{self.adobe_url}/{self.adobe.organization}/campaign"

    def settings_env(self) -> dict[str, str]:
        """App settings (environment variable names) pointing the product at the sandboxes."""
        return {
            "DATAVERSE_URL": self.dataverse_url,
            "DATAVERSE_TENANT_ID": self.credentials.tenant_id,
            "DATAVERSE_CLIENT_ID": self.credentials.client_id,
            "DATAVERSE_CLIENT_SECRET": self.credentials.client_secret,
            "DATAVERSE_AUTHORITY_HOST": self.dataverse_url,
            "DOTDIGITAL_DISCOVERY_URL": self.dotdigital_url,
            "HTTP_CA_BUNDLE": str(self.ca_path),
        }

    def reset(self) -> None:
        self.dataverse.reset()
        self.dotdigital.reset()
        self.adobe.reset()

    def stop(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        self.dataverse.webhooks.stop()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def __enter__(self) -> Sandboxes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandboxes(*, seed: int = 0, tls_dir: Path | None = None) -> Sandboxes:
    """Start Dataverse (https), Dotdigital (http, discovery r1 + account region r2) and Adobe
    Campaign (https: IMS and the API on one server)."""
    credentials = DemoCredentials()
    own_dir = tls_dir is None
    folder = Path(tempfile.mkdtemp(prefix="sandbox-tls-")) if tls_dir is None else tls_dir
    tls = make_tls_files(folder)
    dataverse = DataverseState(
        tenant_id=credentials.tenant_id,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        seed=seed,
    )
    dotdigital = DotdigitalState(
        api_user=credentials.api_user,
        password=credentials.api_password,
        region="r2",
        seed=seed,
    )
    adobe = AdobeState(
        organization=credentials.acs_organization,
        client_id=credentials.acs_client_id,
        client_secret=credentials.acs_client_secret,
        seed=seed,
    )
    servers: list[RunningServer] = []
    try:
        servers.append(start_server(create_dataverse_app(dataverse), tls=tls))
        servers.append(start_server(create_dotdigital_app(dotdigital, region="r1")))
        servers.append(start_server(create_dotdigital_app(dotdigital, region="r2")))
        servers.append(start_server(create_adobe_app(adobe), tls=tls))
    except BaseException:
        for server in servers:
            server.stop()
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    dataverse_server, discovery_server, regional_server, adobe_server = servers
    adobe.base_url = adobe_server.url
    dotdigital.api_endpoint = regional_server.url + "/"
    # x-ms-dynamics-organization: the org's host name, as the product's DATAVERSE_URL has it.
    dataverse.webhooks.organization_host = dataverse_server.host
    return Sandboxes(
        dataverse_url=dataverse_server.url,
        dotdigital_url=discovery_server.url,
        dotdigital_api_endpoint=regional_server.url,
        dataverse=dataverse,
        dotdigital=dotdigital,
        tls=tls,
        credentials=credentials,
        adobe_url=adobe_server.url,
        adobe=adobe,
        _servers=servers,
        _tls_dir=folder if own_dir else None,
    )


def main() -> None:
    """`python -m sandbox.launch`: run both sandboxes until Ctrl-C, printing the settings."""
    import signal
    import time

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stop cleanly (and remove the TLS files)
    with start_sandboxes() as running:
        for name, value in running.settings_env().items():
            print(f"{name}={value}")
        print(f"# Dotdigital account region (ApiEndpoint): {running.dotdigital_api_endpoint}/")
        print(f"# Dotdigital API user: {running.credentials.api_user}")
        print(f"# Adobe Campaign base URL: {running.adobe_base_url} (IMS: {running.adobe_url})")
        print(f"# Adobe Campaign client id: {running.credentials.acs_client_id}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
