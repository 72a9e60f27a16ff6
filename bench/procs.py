"""Server processes for the benchmark: start pinned, wait until ready, check answers, always kill.

Every server runs in its own session (so its process group can be killed whole, children included) and is
registered in ``LIVE`` so that the benchmark's ``finally``/``atexit`` can reap whatever is still running
after an error or Ctrl-C. Every wait has a deadline: nothing here can hang the benchmark.
"""

from __future__ import annotations

import atexit
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from traffic import Interaction

HOST = "127.0.0.1"
POLL_S = 0.02
LIVE: set[subprocess.Popen[bytes]] = set()


class BenchError(RuntimeError):
    """A server could not be benchmarked (did not start, answered wrongly, ...): reported, not fatal."""


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start(argv: Sequence[str], log_path: Path, core: int | None = 0) -> subprocess.Popen[bytes]:
    """Start ``argv`` pinned to ``core`` in a new session, output to ``log_path``."""
    pinned = ["taskset", "-c", str(core), *argv] if core is not None else list(argv)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            pinned,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    LIVE.add(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace_s: float = 10.0) -> None:
    """Signal the whole process group, escalate to SIGKILL after ``grace_s``, then sweep stragglers."""
    if proc.poll() is None:
        _killpg(proc.pid, sig)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            _killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    _killpg(proc.pid, signal.SIGKILL)  # children that outlived the leader
    LIVE.discard(proc)


def stop_all() -> None:
    """Kill every server still running (error paths, Ctrl-C, interpreter exit)."""
    for proc in list(LIVE):
        stop(proc, grace_s=3.0)


atexit.register(stop_all)


def _killpg(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextmanager
def running(
    argv: Sequence[str],
    port: int,
    log_path: Path,
    ready_timeout_s: float = 60.0,
    core: int | None = 0,
) -> Iterator[subprocess.Popen[bytes]]:
    """A started server whose port accepts connections; killed on exit whatever happens."""
    proc = start(argv, log_path, core)
    helpers: list[int] = []
    try:
        wait_port(port, proc, log_path, ready_timeout_s)
        helpers = unpin_helpers(proc.pid) if core is not None else []
        yield proc
    finally:
        for pid in helpers:
            cpu = cpu_seconds(pid)
            if cpu is not None:
                print(f"  (helper process {pid} of the server, unpinned, used {cpu:.1f} CPU-seconds)", flush=True)
        stop(proc)


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    with suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    return found


def unpin_helpers(pid: int) -> list[int]:
    """Let a server's helper processes (hudproxy's journal worker) run on any core.

    The pinning keeps the serving process and wrk apart; a helper process inherits it, but it is work the server
    hands to another core by design, so it gets the machine's scheduling. Its CPU time is printed at the end, so
    the cost is shown, not hidden."""
    helpers = children(pid)
    for child in helpers:
        with suppress(OSError):
            os.sched_setaffinity(child, range(os.cpu_count() or 1))
    return helpers


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    """Poll a TCP connect every 20 ms until it succeeds; fail fast if the process dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _check_alive(proc, log_path)
        try:
            socket.create_connection((HOST, port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(POLL_S)
    raise BenchError(f"port {port} not open after {timeout_s:.0f} s")


def _check_alive(proc: subprocess.Popen[bytes], log_path: Path) -> None:
    if proc.poll() is not None:
        code = proc.returncode
        how = f"killed by {signal.Signals(-code).name} from outside" if code < 0 else f"exited with code {code}"
        raise BenchError(f"{how}: {log_tail(log_path)}")


def log_tail(log_path: Path, chars: int = 300) -> str:
    """The end of a server's output, on one line, for error messages."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return " ".join(text[-chars:].split())


def wait_first_answer(port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    """Poll every 20 ms with a connect + ``GET /_hudproxy/health`` until any HTTP answer arrives."""
    request = f"GET /_hudproxy/health HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _check_alive(proc, log_path)
        try:
            with socket.create_connection((HOST, port), timeout=5.0) as sock:
                sock.sendall(request)
                if sock.recv(5) == b"HTTP/":
                    return
        except OSError:
            pass
        time.sleep(POLL_S)
    raise BenchError(f"no HTTP answer on port {port} after {timeout_s:.0f} s")


def wait_first_replay(port: int, interaction: Interaction, timeout_s: float) -> None:
    """Poll every 20 ms until a recorded request gets its recorded answer (a server may answer early)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            verify(port, [interaction])
            return
        except (BenchError, OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_S)


def verify(port: int, interactions: Sequence[Interaction], timeout_s: float = 10.0) -> None:
    """Send each request once over one keep-alive connection; each must get 200 and the recorded body.

    This keeps error pages (404 from a matcher miss, 502 from a proxy) out of the figures; it doubles as the
    driver that makes mitmdump record the traffic.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        for it in interactions:
            headers = {
                "Accept": "*/*",
                **({"Content-Type": it.content_type} if it.content_type else {}),
            }
            conn.request(it.method, it.target, body=it.body, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or body != it.response_body.encode():
                raise BenchError(f"{it.method} {it.target} -> {response.status} {body[:120]!r}")
    finally:
        conn.close()


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the group, in MB (from /proc)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            total_kb += _rss_kb_if_in_group(entry, pgid)
    return total_kb / 1024


def _rss_kb_if_in_group(proc_dir: Path, pgid: int) -> int:
    try:
        stat = (proc_dir / "stat").read_text()
        if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
            return 0
        for line in (proc_dir / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@contextmanager
def loaded(
    argv: Sequence[str], port: int, log_path: Path, probe: Interaction, timeout_s: float
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, float]]]:
    """Start a server and time its start-up: to the first HTTP answer, and to the first correct replay.

    Both clocks start just before the process is spawned. Yields the process and
    ``{"first_answer_s", "first_replay_s", "rss_mb"}``; the server is killed on exit.
    """
    t0 = time.perf_counter()
    proc = start(argv, log_path)
    try:
        wait_first_answer(port, proc, log_path, timeout_s)
        first_answer = time.perf_counter() - t0
        wait_first_replay(port, probe, max(1.0, timeout_s - first_answer))
        first_replay = time.perf_counter() - t0
        yield (
            proc,
            {
                "first_answer_s": first_answer,
                "first_replay_s": first_replay,
                "rss_mb": group_rss_mb(proc.pid),
            },
        )
    finally:
        stop(proc)
