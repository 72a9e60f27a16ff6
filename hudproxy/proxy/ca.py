"""hudproxy's own certificate authority for intercepting HTTPS in forward mode.

Kept apart from mitmproxy's (`~/.hudproxy/ca`, or `$HUDPROXY_CA_DIR`); mitmproxy generates it on first use
with owner-only permissions on the private key. Clients trust `hudproxy-ca-cert.pem` (the name mitmproxy gives
the public certificate is `mitmproxy-ca-cert.pem`; hudproxy also writes a copy under its own name).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mitmproxy.certs import CertStore

BASENAME = "mitmproxy"  # mitmproxy's tlsconfig addon always looks for this basename in its confdir
KEY_SIZE = 2048


def ca_dir() -> Path:
    configured = os.environ.get("HUDPROXY_CA_DIR")
    return Path(configured) if configured else Path.home() / ".hudproxy" / "ca"


def ensure_ca(directory: Path | None = None) -> Path:
    """Create the CA if missing; returns the public certificate's path (what clients must trust)."""
    directory = directory or ca_dir()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    CertStore.from_store(directory, BASENAME, KEY_SIZE)
    key = directory / f"{BASENAME}-ca.pem"
    key.chmod(0o600)
    public = directory / "hudproxy-ca-cert.pem"
    if not public.exists():
        shutil.copyfile(directory / f"{BASENAME}-ca-cert.pem", public)
        public.chmod(0o644)
    return public


def client_environment(cert: Path, proxy_url: str | None = None) -> dict[str, str]:
    """The variables a client process needs to use the proxy and trust hudproxy's CA."""
    env = {
        "SSL_CERT_FILE": str(cert),
        "REQUESTS_CA_BUNDLE": str(cert),
        "NODE_EXTRA_CA_CERTS": str(cert),
        "CURL_CA_BUNDLE": str(cert),
    }
    if proxy_url:
        env.update({"HTTPS_PROXY": proxy_url, "HTTP_PROXY": proxy_url})
    return env
