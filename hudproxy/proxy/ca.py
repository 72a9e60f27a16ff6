"""hudproxy's own certificate authority for intercepting HTTPS in forward mode.

Kept apart from mitmproxy's (`~/.hudproxy/ca`, or `$HUDPROXY_CA_DIR`); mitmproxy generates it on first use
with owner-only permissions on the private key. Clients trust `hudproxy-ca-cert.pem` (the name mitmproxy gives
the public certificate is `mitmproxy-ca-cert.pem`; hudproxy also writes a copy under its own name).

`SSL_CERT_FILE` and its kin *replace* a client's trust store, so they point at `hudproxy-ca-bundle.pem`: the
system's CAs plus hudproxy's. Hosts hudproxy tunnels untouched (outside `--allow-host`) still verify.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import ssl
from pathlib import Path

from mitmproxy.certs import CertStore

from hudproxy.cassette.atomic import atomic_write
from hudproxy.errors import ConfigError

log = logging.getLogger("hudproxy.proxy")

BASENAME = "mitmproxy"  # mitmproxy's tlsconfig addon always looks for this basename in its confdir
KEY_SIZE = 2048
BUNDLE = "hudproxy-ca-bundle.pem"
SYSTEM_BUNDLE_ENV = "HUDPROXY_SYSTEM_CA_BUNDLE"  # the system CAs to put in the bundle, when not the default ones
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSDs
)
PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


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


def system_bundle() -> Path | None:
    """The system's CA bundle: `$HUDPROXY_SYSTEM_CA_BUNDLE`, else the OS's file, else certifi's."""
    configured = os.environ.get(SYSTEM_BUNDLE_ENV)
    if configured:
        return Path(configured)
    for candidate in (*SYSTEM_BUNDLES, ssl.get_default_verify_paths().openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi
    except ImportError:
        return None
    return Path(certifi.where())


def _system_certificates(system: Path | None) -> list[bytes]:
    source = system or system_bundle()
    if source is None:
        return []
    try:
        return PEM_BLOCK.findall(source.read_bytes())
    except OSError as error:
        log.warning(
            "cannot read the system CA bundle %s (%s): only the CAs hudproxy was given are trusted", source, error
        )
        return []


def _write_bundle(path: Path, blocks: list[bytes]) -> Path:
    """Each certificate once, in order; the file is rewritten only when its content changes."""
    content = b"\n".join(dict.fromkeys(blocks)) + b"\n"
    if not path.exists() or path.read_bytes() != content:
        atomic_write(path, content)
        path.chmod(0o644)
    return path


def ensure_bundle(cert: Path, system: Path | None = None) -> Path:
    """Write `hudproxy-ca-bundle.pem` beside `cert`: the system's CAs, then hudproxy's (what clients trust)."""
    return _write_bundle(cert.parent / BUNDLE, [*_system_certificates(system), *PEM_BLOCK.findall(cert.read_bytes())])


def upstream_bundle(extra: Path, system: Path | None = None) -> Path:
    """The system's CAs plus `extra` (`--upstream-ca`), to verify upstreams with: a private CA for one host must
    not make every public host fail. Named by content, so concurrent recorders never share a file."""
    try:
        blocks = PEM_BLOCK.findall(extra.read_bytes())
    except OSError as error:
        raise ConfigError(f"--upstream-ca {extra}: cannot read it ({error.strerror}).") from None
    if not blocks:
        raise ConfigError(f"--upstream-ca {extra}: no PEM certificate in it (-----BEGIN CERTIFICATE-----).")
    blocks = [*_system_certificates(system), *blocks]
    digest = hashlib.sha256(b"".join(blocks)).hexdigest()[:16]
    folder = ca_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return _write_bundle(folder / f"upstream-{digest}.pem", blocks)


def upstream_context(extra: Path) -> ssl.SSLContext:
    """A client TLS context trusting the system's CAs plus `extra` (`--upstream-ca`), for httpx's `verify`."""
    return ssl.create_default_context(cafile=str(upstream_bundle(extra)))


def client_environment(cert: Path, proxy_url: str | None = None, bundle: Path | None = None) -> dict[str, str]:
    """The variables a client process needs to use the proxy and trust hudproxy's CA.

    The variables that replace a client's trust store get the bundle (the system's CAs plus hudproxy's);
    `NODE_EXTRA_CA_CERTS` adds to Node's own store, so it gets hudproxy's CA alone.
    """
    bundle = bundle or ensure_bundle(cert)
    env = {
        "SSL_CERT_FILE": str(bundle),
        "REQUESTS_CA_BUNDLE": str(bundle),
        "NODE_EXTRA_CA_CERTS": str(cert),
        "CURL_CA_BUNDLE": str(bundle),
    }
    if proxy_url:
        env.update({"HTTPS_PROXY": proxy_url, "HTTP_PROXY": proxy_url})
    return env
