"""`hudproxy record` as a real process: the cassette on disk survives SIGKILL; SIGTERM and SIGINT stop it cleanly.

Each interaction is written to the recording log beside the cassette before its client is answered, so after a
SIGKILL the cassette (with its log, which the loader merges) holds every answered request; the litter possible
is the log and one `.<name>.*.tmp` from a first write cut off mid-way. See test_durability.py for the same
under concurrent load with large bodies.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hudproxy.cassette.files import load_cassette
from hudproxy.netutil import free_port
from tests.processes import hudproxy_listening

REQUESTS = 10


@pytest.fixture
def recording_process(traffic: Any, cassette: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`hudproxy record` in front of the traffic upstream, listening; killed at the end whatever happens."""
    port = free_port()
    workdir = tmp_path / "cwd"  # anything written beside the process stays out of the cassette's folder
    workdir.mkdir()
    argv = ["record", "--target", traffic.url, "--cassette", str(cassette), "--port", str(port)]
    with hudproxy_listening(argv, port, cwd=workdir) as started:
        yield started


def send_requests(proxy_url: str) -> None:
    with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
        for n in range(REQUESTS):
            assert client.get(f"/items/{n}").status_code == 200


def leftovers(cassette: Path) -> list[str]:
    return sorted(p.name for p in cassette.parent.iterdir() if p != cassette and p.name != "cwd")


def test_sigkill_leaves_a_loadable_cassette(recording_process: Any, cassette: Path) -> None:
    process, proxy_url = recording_process
    send_requests(proxy_url)
    process.send_signal(signal.SIGKILL)  # no pause: every answered request is on disk already
    assert process.wait(timeout=10) == -signal.SIGKILL
    interactions = load_cassette(cassette).interactions
    assert [i.request.path for i in interactions] == [f"/items/{n}" for n in range(REQUESTS)]
    rest = [name for name in leftovers(cassette) if name != f"{cassette.name}.log"]  # the recording log stays
    assert len(rest) <= 1 and all(n.startswith(f".{cassette.name}.") and n.endswith(".tmp") for n in rest), rest


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_flushes_everything_and_exits_0(
    recording_process: Any, cassette: Path, stop: signal.Signals
) -> None:
    process, proxy_url = recording_process
    send_requests(proxy_url)
    process.send_signal(stop)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"stopped: {REQUESTS} new interactions" in out
    assert [i.request.path for i in load_cassette(cassette).interactions] == [f"/items/{n}" for n in range(REQUESTS)]
    assert leftovers(cassette) == []
