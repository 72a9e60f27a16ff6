"""Real HTTPS upstreams for forward-mode tests: a private certificate authority made here, a leaf for
localhost/127.0.0.1, uvicorn serving an app with it in a thread, and a listener that counts connections.

Nothing trusts the private CA unless told to, exactly like a staging API behind a company CA.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi import FastAPI, Request
from fastapi.responses import Response

from hudproxy.serving import bind_socket


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    leaf_cert: Path
    leaf_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_private_ca(folder: Path) -> TlsFiles:
    """A CA and a server certificate for `localhost` and `127.0.0.1` signed by it, as PEM files in `folder`."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("hudproxy test upstream CA"))
        .issuer_name(_name("hudproxy test upstream CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "upstream-ca.pem", folder / "upstream-leaf.pem", folder / "upstream-leaf.key")
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.leaf_cert.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    files.leaf_key.write_bytes(_pem_key(leaf_key))
    return files


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def trusting(*bundles: Path) -> ssl.SSLContext:
    """A client context that trusts exactly these PEM files (no system store)."""
    context = ssl.create_default_context(cafile=str(bundles[0]))
    for bundle in bundles[1:]:
        context.load_verify_locations(cafile=str(bundle))
    return context


# ---------------------------------------------------------------- the upstream apps


@dataclass
class Upstream:
    """A running HTTPS upstream: its port, base URL (by the name clients use) and the requests it answered."""

    port: int = 0
    url: str = ""
    seen: list[str] = field(default_factory=list)


def api_app(seen: list[str]) -> FastAPI:
    """JSON, binary, and a state-aware resource (GET, PATCH, GET) for session tests."""
    app = FastAPI()
    items: dict[str, str] = {}

    @app.middleware("http")
    async def note(request: Request, call_next: Any) -> Any:
        seen.append(f"{request.method} {request.url.path}")
        return await call_next(request)

    @app.get("/json")
    def plain() -> dict[str, Any]:
        return {"kind": "json", "text": "héllo", "tls": True}

    @app.get("/binary")
    def binary() -> Response:
        return Response(bytes(range(256))[::-1], media_type="application/octet-stream")

    @app.get("/items/{item_id}")
    def get_item(item_id: str) -> dict[str, str]:
        return {"id": item_id, "status": items.get(item_id, "pending")}

    @app.patch("/items/{item_id}")
    async def patch_item(item_id: str, request: Request) -> dict[str, str]:
        items[item_id] = (await request.json())["status"]
        return {"id": item_id, "status": items[item_id]}

    @app.post("/token")
    def token() -> dict[str, str]:
        return {"token_type": "bearer", "scope": "read"}

    return app


@contextlib.contextmanager
def serve_tls(files: TlsFiles, hostname: str = "localhost", port: int = 0) -> Iterator[Upstream]:
    """The api app over HTTPS on 127.0.0.1 in a thread; `hostname` is the name its URL uses."""
    upstream = Upstream()
    sock = bind_socket("127.0.0.1", port)
    upstream.port = sock.getsockname()[1]
    upstream.url = f"https://{hostname}:{upstream.port}"
    config = uvicorn.Config(
        api_app(upstream.seen),
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="asyncio",
        ssl_certfile=str(files.leaf_cert),
        ssl_keyfile=str(files.leaf_key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="tls-upstream")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the TLS upstream did not start"
        time.sleep(0.01)
    try:
        yield upstream
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class AcceptCounter:
    """Listens on a port and counts every connection accepted: proof that nobody connected there."""

    def __init__(self, port: int) -> None:
        self.accepted = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"accept-counter-{port}")
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


@contextlib.contextmanager
def counting_accepts(*ports: int) -> Iterator[list[AcceptCounter]]:
    """While inside, every port is taken by a counter (the upstreams must be stopped first)."""
    counters = [AcceptCounter(port) for port in ports]
    try:
        yield counters
    finally:
        for counter in counters:
            counter.close()


@contextlib.contextmanager
def broken_tls_upstream(files: TlsFiles, hang_up: bool = True) -> Iterator[str]:
    """An HTTPS upstream that completes the TLS handshake (HTTP/2 or HTTP/1.1 offered), reads the request and
    then hangs up (`hang_up`) or never answers. Yields its URL by the name its certificate carries."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.leaf_cert, files.leaf_key)
    context.set_alpn_protocols(["h2", "http/1.1"])
    sock = bind_socket("127.0.0.1", 0)
    sock.listen(16)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                tls = context.wrap_socket(conn, server_side=True)
                tls.recv(65536)
            except OSError:
                conn.close()
                continue
            if hang_up:
                tls.close()
            else:
                held.append(tls)

    thread = threading.Thread(target=serve, daemon=True, name="broken-tls-upstream")
    thread.start()
    try:
        yield f"https://localhost:{sock.getsockname()[1]}"
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        sock.close()
        for tls in held:
            tls.close()
        thread.join(5)
