"""Three real clients sending the same calls through a forward proxy: httpx, requests and curl.

Each returns (status, body bytes) per call, so a recording and its replay compare with `==`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import requests
from tls_upstream import trusting

Call = tuple[str, str, Any]  # method, path, JSON body or None
Answer = tuple[int, bytes]
Client = Callable[[str, Path, str, Sequence[Call]], list[Answer]]
CURL = shutil.which("curl")
NO_PROXY_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def via_httpx(proxy: str, ca: Path, base: str, calls: Sequence[Call]) -> list[Answer]:
    with httpx.Client(proxy=proxy, verify=trusting(ca), trust_env=False, timeout=15) as client:
        return [(r.status_code, r.content) for r in (client.request(m, base + p, json=j) for m, p, j in calls)]


def via_requests(proxy: str, ca: Path, base: str, calls: Sequence[Call]) -> list[Answer]:
    with requests.Session() as session:
        session.trust_env = False
        session.proxies = {"http": proxy, "https": proxy}
        session.verify = str(ca)
        return [
            (r.status_code, r.content) for r in (session.request(m, base + p, json=j, timeout=15) for m, p, j in calls)
        ]


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    """curl with no proxy variables from the environment (NO_PROXY would bypass -x for localhost)."""
    assert CURL, "curl is not installed"
    return subprocess.run([CURL, "-sS", *args], capture_output=True, text=True, timeout=30, env=NO_PROXY_ENV)


def via_curl(proxy: str, ca: Path, base: str, calls: Sequence[Call]) -> list[Answer]:
    answers = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "body"
        for method, path, body in calls:
            data = ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)] if body else []
            done = curl("-x", proxy, "--cacert", str(ca), "-X", method, *data, "-o", str(out), "-w", "%{http_code}",
                        base + path)  # fmt: skip
            assert done.returncode == 0, done.stderr
            answers.append((int(done.stdout), out.read_bytes()))
    return answers


CLIENTS: dict[str, Client] = {"httpx": via_httpx, "requests": via_requests, "curl": via_curl}
