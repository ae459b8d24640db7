"""A throwaway CA and a server certificate for 127.0.0.1 / localhost, written to a folder.

msal only accepts an https authority, so the Dataverse sandbox (which is also the Entra ID
stand-in) serves TLS with this certificate; clients trust `ca_path` (HTTP_CA_BUNDLE).
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_path: Path
    cert_path: Path  # server certificate followed by its chain
    key_path: Path

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting only this CA (what an httpx client should use as `verify`)."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def make_tls_files(directory: Path | None = None) -> TlsFiles:
    """Create a CA and a server cert for 127.0.0.1 and localhost in `directory` (or a temp dir)."""
    folder = Path(tempfile.mkdtemp(prefix="sandbox-tls-")) if directory is None else directory
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Dynamics Marketing Sync sandbox CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(
        ca_path=folder / "sandbox-ca.pem",
        cert_path=folder / "sandbox-server.pem",
        key_path=folder / "sandbox-server.key",
    )
    ca.cert_pem.write_to_path(str(files.ca_path))
    files.cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(files.key_path))
    return files
