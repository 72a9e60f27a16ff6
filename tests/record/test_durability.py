"""`hudproxy record` as a real process: every response a client received is on disk, whatever kills it; a
cassette that cannot be written is answered 5xx and the stop exits non-zero; an empty run leaves no file."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hudproxy.cassette.files import load_cassette
from hudproxy.netutil import free_port
from tests.processes import hudproxy_listening
from tests.record.conftest import blob_body

CLIENTS = 8
RECEIVED_BEFORE_KILL = 40


@contextlib.contextmanager
def hudproxy_record(target: str, cassette: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`hudproxy record` in front of `target`, listening; killed at the end whatever happens."""
    port = free_port()
    argv = ["record", "--target", target, "--cassette", str(cassette), "--port", str(port), "--no-journal", *extra]
    with hudproxy_listening(argv, port) as started:
        yield started


class Load:
    """Clients on threads fetching distinct 256 KB bodies until stopped; notes every complete 200 received."""

    def __init__(self, proxy_url: str) -> None:
        self.proxy_url = proxy_url
        self.received: dict[str, str] = {}  # path -> sha256 of the body the client got
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]

    def _client(self, n: int) -> None:
        with httpx.Client(base_url=self.proxy_url, trust_env=False, timeout=10) as client:
            for k in range(10_000):
                if self.stop.is_set():
                    return
                path = f"/blob/c{n}-{k}"
                try:
                    response = client.get(path)
                except httpx.HTTPError:
                    return  # the proxy was killed mid-request: this client got nothing
                if response.status_code == 200 and response.content == blob_body(f"c{n}-{k}"):
                    with self._lock:
                        self.received[path] = hashlib.sha256(response.content).hexdigest()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=20)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.received) >= count, f"only {len(self.received)} responses in {timeout}s"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_sigkill_under_load_keeps_every_response_a_client_received(traffic: Any, tmp_path: Path, suffix: str) -> None:
    cassette = tmp_path / f"load{suffix}"
    with hudproxy_record(traffic.url, cassette) as (process, proxy_url), Load(proxy_url) as load:
        load.wait_for(RECEIVED_BEFORE_KILL)
        process.send_signal(signal.SIGKILL)  # clients are mid-request: some answers are cut, none half-saved
        assert process.wait(timeout=10) == -signal.SIGKILL
        received = dict(load.received)
    loaded = load_cassette(cassette).interactions
    recorded = {i.request.path: hashlib.sha256(i.response.body).hexdigest() for i in loaded}
    missing = sorted(set(received) - set(recorded))
    assert not missing, f"{len(missing)} of {len(received)} received responses are not in the cassette: {missing[:5]}"
    assert all(recorded[path] == digest for path, digest in received.items())


def test_a_full_disk_answers_507_and_the_stop_exits_non_zero(traffic: Any, tmp_path: Path) -> None:
    """A 256 KB tmpfs holds a few 64 KB interactions: then clients get 507 naming the reason, never a 200 for an
    answer that was not saved; the cassette holds exactly the 200s; the stop says so and exits non-zero."""
    disk = tmp_path / "small-disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root (mount -t tmpfs)")
    try:
        cassette = disk / "full.yaml"
        with hudproxy_record(traffic.url, cassette) as (process, proxy_url):
            statuses: dict[str, httpx.Response] = {}
            with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
                for n in range(8):
                    statuses[f"/blob/d{n}"] = client.get(f"/blob/d{n}", params={"size": 64 * 1024})
                with pytest.raises(httpx.RemoteProtocolError):  # a stream's bytes went out: its end is withheld
                    client.get("/blob-stream/s", params={"size": 64 * 1024})
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
        ok = [path for path, response in statuses.items() if response.status_code == 200]
        refused = [response for response in statuses.values() if response.status_code == 507]
        codes = {path: response.status_code for path, response in statuses.items()}
        assert ok and refused and len(ok) + len(refused) == len(statuses), codes
        assert "the disk is full" in refused[0].json()["reason"] and "full.yaml" in refused[0].json()["reason"]
        assert [i.request.path for i in load_cassette(cassette).interactions] == ok
        assert process.returncode == 2, (out, err)
        assert "Traceback" not in err and "the recording is incomplete" in err and "the disk is full" in err
        assert "NOT RECORDED" in err  # logged at ERROR for each one, as it happened
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_passthrough_on_a_full_disk_answers_507_instead_of_an_error(
    traffic: Any, record: Any, replay: Any, tmp_path: Path
) -> None:
    """A replay server recording its misses (`--unmatched passthrough`) tells the client as the recorder does:
    507 naming the reason, never a 500 from an exception reaching the adapter."""
    disk = tmp_path / "small-disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root (mount -t tmpfs)")
    try:
        cassette = disk / "full.yaml"
        with record(cassette, traffic.url) as client:
            client.get("/json")
        with replay(cassette, unmatched="passthrough", target=traffic.url) as client:
            answers = [client.get(f"/blob/p{n}", params={"size": 64 * 1024}) for n in range(8)]
        codes = [a.status_code for a in answers]
        assert 507 in codes and set(codes) <= {200, 507}, codes
        refused = next(a for a in answers if a.status_code == 507)
        assert "the disk is full" in refused.json()["reason"] and "full.yaml" in refused.json()["reason"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_recording_stopped_before_any_request_leaves_no_file(traffic: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "new" / "nothing.yaml"
    with hudproxy_record(traffic.url, cassette) as (process, _):
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert not cassette.exists() and not (tmp_path / "new").exists()
    assert "nothing recorded" in out


def test_an_empty_cassette_is_recorded_as_new_in_mode_once(traffic: Any, tmp_path: Path) -> None:
    """Before: an empty cassette (left by an earlier empty run) made mode `once` answer 501 to everything."""
    cassette = tmp_path / "empty.yaml"
    cassette.write_text("version: 1\nhudproxy:\n  format: 1\ninteractions: []\n")
    with hudproxy_record(traffic.url, cassette) as (process, proxy_url):
        with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
            assert client.get("/items/1").status_code == 200
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "holds no interactions: recording it as a new cassette" in err
    assert [i.request.path for i in load_cassette(cassette).interactions] == ["/items/1"]


@pytest.mark.parametrize("where", ["parent-is-a-file", "proc"])
def test_a_cassette_path_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, where: str) -> None:
    a_file = tmp_path / "some_file.py"
    a_file.write_text("print('hi')\n")
    cassette = a_file / "x.yaml" if where == "parent-is-a-file" else Path("/proc/x/y.yaml")
    command = [shutil.which("hudproxy") or "hudproxy", "record", "--target", "http://127.0.0.1:9",
               "--cassette", str(cassette), "--port", str(free_port()), "--no-journal"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and str(cassette) in lines[0], result.stderr
    assert "choose another --cassette path" in lines[0]


def test_the_next_recording_recovers_a_killed_json_recording_from_its_log(traffic: Any, tmp_path: Path) -> None:
    """SIGKILL leaves the log (the JSON file is written at stop); `record` again writes it into the cassette,
    removes the log, and goes on appending."""
    cassette = tmp_path / "killed.json"
    with hudproxy_record(traffic.url, cassette) as (process, proxy_url):
        with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
            for n in range(3):
                assert client.get(f"/items/{n}").status_code == 200
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert not cassette.exists() and cassette.with_name("killed.json.log").exists()
    with hudproxy_record(traffic.url, cassette, "--record-mode", "new_episodes") as (process, proxy_url):
        with httpx.Client(base_url=proxy_url, trust_env=False, timeout=10) as client:
            assert client.get("/items/9").status_code == 200
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "recovered 3 interactions" in err
    assert not cassette.with_name("killed.json.log").exists()
    paths = [i.request.path for i in load_cassette(cassette).interactions]
    assert paths == ["/items/0", "/items/1", "/items/2", "/items/9"]
