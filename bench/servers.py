"""Command lines of the servers under test, mitmdump's recording step, and hudproxy's availability check."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from procs import HOST, BenchError, free_port, running, stop, verify
from traffic import Interaction

BENCH_DIR = Path(__file__).resolve().parent


def bare_argv(cassette: Path, port: int) -> list[str]:
    """The bare uvicorn ASGI callable (uvloop, httptools, no access log)."""
    return [
        sys.executable,
        str(BENCH_DIR / "bare_server.py"),
        str(cassette),
        "--port",
        str(port),
        "--host",
        HOST,
    ]


def raw_argv(cassette: Path, port: int) -> list[str]:
    """The physical reference: a raw uvloop protocol writing canned bytes (no ASGI, no matching)."""
    return [sys.executable, str(BENCH_DIR / "raw_server.py"), str(cassette), "--port", str(port), "--host", HOST]


def hudproxy_argv(cassette: Path, port: int, extra: Sequence[str] = ()) -> list[str]:
    """hudproxy's replay server as a user would start it."""
    return [
        _which("hudproxy"),
        "replay",
        str(cassette),
        "--port",
        str(port),
        "--host",
        HOST,
        *extra,
    ]


def _mitm_base(port: int, upstream: int, confdir: Path) -> list[str]:
    """mitmdump as a reverse proxy in front of ``upstream``; quiet, so it spends no time printing flows."""
    return [
        _which("mitmdump"),
        "-q",
        "--mode",
        f"reverse:http://{HOST}:{upstream}",
        "--listen-host",
        HOST,
        "--listen-port",
        str(port),
        "--set",
        f"confdir={confdir}",
    ]


def server_replay_options(flows: Path) -> list[str]:
    """mitmdump's options to replay `flows` with the upstream stopped (shared by reverse and forward mode)."""
    return [
        "--server-replay",
        str(flows),
        "--set",
        "server_replay_reuse=true",
        "--set",
        "connection_strategy=lazy",
        "--set",
        "server_replay_extra=404",
    ]


def mitm_replay_argv(flows: Path, port: int, upstream: int, confdir: Path) -> list[str]:
    """mitmdump --server-replay with the options that let it replay with the upstream stopped.

    ``connection_strategy=lazy``: do not connect upstream before answering; ``server_replay_reuse``: keep
    serving a flow after its first use; ``server_replay_extra=404``: never forward a miss to the (dead)
    upstream; ``server_replay_ignore_host``: wrk's Host header names the proxy, not the recorded upstream.
    """
    return [
        *_mitm_base(port, upstream, confdir),
        *server_replay_options(flows),
        "--set",
        "server_replay_ignore_host=true",
    ]


def record_with_mitmdump(
    workdir: Path, cassette: Path, interactions: Sequence[Interaction], confdir: Path
) -> tuple[Path, int]:
    """Record each request once through ``mitmdump -w`` before the bare server; return (flows, upstream port).

    mitmdump is stopped with SIGINT so it flushes the flow file; the upstream is stopped before replay starts.
    """
    flows = workdir / "flows.mitm"
    upstream, port = free_port(), free_port()
    with running(bare_argv(cassette, upstream), upstream, workdir / "upstream.log", core=None):
        record_argv = [*_mitm_base(port, upstream, confdir), "-w", str(flows)]
        with running(record_argv, port, workdir / "mitm-record.log", core=None) as proc:
            verify(port, interactions)
            stop(proc, sig=signal.SIGINT)
    if not flows.exists() or flows.stat().st_size == 0:
        raise BenchError("mitmdump recorded nothing")
    return flows, upstream


def hudproxy_variants() -> list[tuple[str, list[str]]]:
    """The hudproxy configurations to run: plain (the fast path where ``replay --help`` offers ``--server``), the
    ASGI path beside it, plus ``--no-journal`` when ``replay --help`` offers it."""
    exe = _which("hudproxy")
    try:
        done = subprocess.run(
            [exe, "replay", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError("`hudproxy replay --help` did not finish in 60 s") from exc
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise BenchError(f"`hudproxy replay --help` exited {done.returncode}: {last[0][:200]}")
    variants = [("hudproxy", [])]
    if "--no-journal" in done.stdout:
        variants.append(("hudproxy --no-journal", ["--no-journal"]))
    if "--server" in done.stdout:
        variants.append(("hudproxy --server asgi", ["--server", "asgi"]))
    return variants


def _which(name: str) -> str:
    """Absolute path of a command, or a BenchError saying it is missing."""
    path = shutil.which(name)
    if path is None:
        raise BenchError(f"`{name}` is not on PATH")
    return path
