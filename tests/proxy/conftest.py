"""Fixtures for forward mode over real TLS: the upstream's private CA, and hudproxy's CA in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from tls_upstream import TlsFiles, make_private_ca

from hudproxy.proxy.ca import ensure_ca


@pytest.fixture(scope="session")
def upstream_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The upstream's CA and its localhost/127.0.0.1 certificate (one per test run)."""
    return make_private_ca(tmp_path_factory.mktemp("upstream-ca"))


@pytest.fixture(scope="session")
def _ca_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hudproxy-ca") / "ca"


@pytest.fixture
def hudproxy_ca(_ca_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hudproxy's CA certificate (what clients trust), kept in $HUDPROXY_CA_DIR, never in ~/.hudproxy."""
    monkeypatch.setenv("HUDPROXY_CA_DIR", str(_ca_folder))
    return ensure_ca()

