"""`hudproxy ca`: create (once) and show hudproxy's CA certificate, and what a client needs to trust it."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from hudproxy.cli.common import console


def ca(
    proxy: Annotated[str, typer.Option(help="Proxy URL to put in HTTPS_PROXY/HTTP_PROXY")] = "http://127.0.0.1:8080",
    env: Annotated[bool, typer.Option("--env", help="Print only `export` lines, for eval")] = False,
) -> None:
    """Create hudproxy's CA on first use; print its certificate path and the client environment variables.

    SSL_CERT_FILE, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE get a bundle of the system's CAs plus hudproxy's
    (rewritten on each call; $HUDPROXY_SYSTEM_CA_BUNDLE names other system CAs), so hosts the proxy tunnels
    untouched still verify.

    \b
    Example: eval "$(hudproxy ca --env)" && curl https://api.example.com/v1/items
    """
    from hudproxy.proxy.ca import client_environment, ensure_bundle, ensure_ca

    cert = ensure_ca()
    bundle = ensure_bundle(cert)
    variables = client_environment(cert, proxy, bundle)
    if not env:
        console.print(f"CA certificate: {cert}  (private key beside it, readable by its owner only)")
        console.print(f"Trust bundle: {bundle}  (the system's CAs plus hudproxy's)")
        console.print("A client process needs:")
    for name, value in variables.items():
        print(f"export {name}={shlex.quote(value)}")  # a home folder with a space stays one word
