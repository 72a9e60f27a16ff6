"""Forward-proxy replay throughput: `hudproxy replay --mode forward` vs `mitmdump --server-replay` (regular mode),
and vs hudproxy's own reverse-mode replay of the same traffic.

The traffic is replay_bench's (bench/traffic.py). The forward cassette holds absolute `http://127.0.0.1:UP/...`
URIs, UP being the recorded upstream (forward mode matches on scheme, host and port); nothing listens on UP during
replay. wrk sends absolute-form requests (`GET http://127.0.0.1:UP/items/1?page=2 HTTP/1.1`, `Host: 127.0.0.1:UP`)
to the proxy port, plain HTTP. Each proxy must first answer every request with 200 and the recorded body.
Servers on core 0, wrk on core 1, loopback only. See bench/README.md.

    python bench/forward_bench.py [--quick] [--runs 3] [--out bench/results-forward.json]
"""

from __future__ import annotations

import http.client
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import benchkit as kit
from procs import HOST, BenchError, free_port, running, stop, verify
from servers import _which, bare_argv, hudproxy_argv, server_replay_options
from traffic import Interaction, write_cassette, write_wrk_script

SERVERS = ("mitmdump", "forward", "reverse")
MITM = "mitmdump forward"
FWD_NJ, FWD_J = "hudproxy forward --no-journal", "hudproxy forward (journal)"
REV_NJ, REV_J = "hudproxy reverse --no-journal", "hudproxy reverse (journal)"


def verify_forward(port: int, upstream: int, interactions: Sequence[Interaction], timeout_s: float = 10.0) -> None:
    """Send each request once through the proxy at ``port`` in absolute form; 200 and the recorded body, each.

    http.client puts the absolute URL in the request line and takes Host from it (the upstream). Also the driver
    that makes mitmdump record.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        for it in interactions:
            headers = {"Accept": "*/*", **({"Content-Type": it.content_type} if it.content_type else {})}
            conn.request(it.method, f"http://{HOST}:{upstream}{it.target}", body=it.body, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or body != it.response_body.encode():
                raise BenchError(f"{it.method} http://{HOST}:{upstream}{it.target} -> {response.status} {body[:120]!r}")
    finally:
        conn.close()


def mitm_regular(port: int, confdir: Path) -> list[str]:
    """mitmdump as a plain forward (regular-mode) proxy; quiet, CA in a temp confdir."""
    return [
        _which("mitmdump"),
        "-q",
        "--mode",
        "regular",
        "--listen-host",
        HOST,
        "--listen-port",
        str(port),
        "--set",
        f"confdir={confdir}",
    ]


def mitm_forward_replay(flows: Path, port: int, confdir: Path) -> list[str]:
    """Server replay in regular mode with the upstream stopped (lazy, reuse flows, 404 on a miss).

    Host is part of mitmdump's match here (no ``server_replay_ignore_host``): the requests name the upstream.
    """
    return [*mitm_regular(port, confdir), *server_replay_options(flows)]


def hudproxy_forward(cassette: Path, port: int, extra: Sequence[str]) -> list[str]:
    return [*hudproxy_argv(cassette, port, extra), "--mode", "forward"]


class ForwardBench:
    def __init__(self, run: kit.Run, requests: int, servers: Sequence[str]) -> None:
        self.run = run
        self.servers = servers
        self.work = run.workdir
        self.upstream = free_port()  # the recorded upstream: the bare server while mitmdump records, then nothing
        self.forward_cassette = self.work / "forward.json"
        self.reverse_cassette = self.work / "reverse.json"
        self.interactions = write_cassette(self.forward_cassette, requests, host_port=f"{HOST}:{self.upstream}")
        write_cassette(self.reverse_cassette, requests)
        self.forward_script = self.work / "forward.lua"
        netloc = f"{HOST}:{self.upstream}"  # absolute form: the upstream in the request line and in Host
        kit.write_lua(self.forward_script, kit.traffic_requests(self.interactions, f"http://{netloc}", host=netloc))
        self.reverse_script = self.work / "reverse.lua"
        write_wrk_script(self.reverse_script, self.interactions)
        run.report["extra"]["upstream_port"] = self.upstream

    def __call__(self, run: kit.Run) -> None:
        if "mitmdump" in self.servers:
            run.attempt(MITM, self.mitmdump)
        if "forward" in self.servers:
            journal = ["--journal", str(self.work / "journal-forward.db")]
            for name, extra in ((FWD_NJ, ["--no-journal"]), (FWD_J, journal)):
                run.attempt(
                    name,
                    lambda n=name, e=extra: self.serve(
                        n, lambda p: hudproxy_forward(self.forward_cassette, p, e), forward=True
                    ),
                )
        if "reverse" in self.servers:
            journal = ["--journal", str(self.work / "journal-reverse.db")]
            for name, extra in ((REV_NJ, ["--no-journal"]), (REV_J, journal)):
                run.attempt(
                    name,
                    lambda n=name, e=extra: self.serve(
                        n, lambda p: hudproxy_argv(self.reverse_cassette, p, e), forward=False
                    ),
                )
        self.ratios()

    def mitmdump(self) -> None:
        confdir = self.work / "mitmproxy-conf"
        flows = self.record_mitmdump(confdir)
        self.serve(MITM, lambda p: mitm_forward_replay(flows, p, confdir), forward=True)

    def record_mitmdump(self, confdir: Path) -> Path:
        """Each request once through `mitmdump -w` in regular mode, the bare server as the upstream on UP."""
        flows = self.work / "forward-flows.mitm"
        proxy = free_port()
        print(f"{MITM}: recording through mitmdump (regular mode) from the bare server on {self.upstream}", flush=True)
        upstream_log = self.work / "upstream.log"
        with running(bare_argv(self.forward_cassette, self.upstream), self.upstream, upstream_log, core=None):
            verify(self.upstream, self.interactions[:1])
            with running(
                [*mitm_regular(proxy, confdir), "-w", str(flows)],
                proxy,
                self.work / "mitm-record.log",
                self.run_ready(),
                core=None,
            ) as proc:
                verify_forward(proxy, self.upstream, self.interactions)
                stop(proc, sig=signal.SIGINT)  # SIGINT: mitmdump flushes the flow file
        if not flows.exists() or flows.stat().st_size == 0:
            raise BenchError("mitmdump recorded nothing")
        return flows

    def run_ready(self) -> float:
        return float(self.run.report["config"]["ready_timeout"])

    def serve(self, name: str, argv: Callable[[int], list[str]], forward: bool) -> None:
        """Start pinned, verify every request, then warm-up + measure at 1 and 32 connections."""
        port = free_port()
        print(f"{name}: starting on port {port}", flush=True)
        log = self.work / f"{''.join(c if c.isalnum() else '-' for c in name)}.log"
        with running(argv(port), port, log, self.run_ready()) as proc:
            if forward:
                verify_forward(port, self.upstream, self.interactions)
                script = self.forward_script
            else:
                verify(port, self.interactions)
                script = self.reverse_script
            for conns in (kit.LOW, kit.HIGH):
                self.run.measure(name, port, script, conns, pid=proc.pid)

    def ratios(self) -> None:
        r = self.run
        for fwd in (FWD_NJ, FWD_J):
            r.ratio(fwd, MITM, "rps", target=">= 1")
            r.ratio(fwd, MITM, "p50")
            r.ratio(fwd, MITM, "cpu")
        for fwd, rev in ((FWD_NJ, REV_NJ), (FWD_J, REV_J)):
            r.ratio(fwd, rev, "rps")
            r.ratio(fwd, rev, "p50")
        r.ratio(FWD_J, FWD_NJ, "rps", label="forward: journal on / off req/s @32")
        r.ratio(FWD_J, FWD_NJ, "cpu", label="forward: journal on / off CPU µs/req @32")
        r.ratio(REV_J, REV_NJ, "rps", label="reverse: journal on / off req/s @32")
        r.ratio(REV_J, REV_NJ, "cpu", label="reverse: journal on / off CPU µs/req @32")


def main(argv: Sequence[str] | None = None) -> int:
    p = kit.parser(__doc__, "forward")
    p.add_argument("--requests", type=int, default=500, help="distinct recorded requests (default 500)")
    p.add_argument("--servers", default=",".join(SERVERS), help="comma list out of mitmdump,forward,reverse")
    args = p.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if unknown := set(servers) - set(SERVERS):
        p.error(f"unknown servers: {', '.join(sorted(unknown))}")
    t = kit.timing(args)
    run = kit.Run("forward-bench", kit.config_dict(args, t), args.out, args.keep, t)
    return run.main(lambda r: ForwardBench(r, args.requests, servers)(r))


if __name__ == "__main__":
    sys.exit(main())
