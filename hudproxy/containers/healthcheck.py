"""The image's HEALTHCHECK: `python -m hudproxy.containers.healthcheck`, exit 0 healthy, 1 unhealthy.

A fixed URL in the Dockerfile would be wrong as soon as a user runs `--port 9000` or sets an admin token, so the
check reads the serving hudproxy process's own command line (and environment) from /proc and asks what that
process actually serves:

- `hudproxy replay` (reverse mode): `GET /_hudproxy/health` with the admin token, expecting 200;
- `hudproxy record`, `hudproxy replay --mode forward`: the port accepts a TCP connection (no admin API there);
- `hudproxy replay --stdio` and one-shot commands: nothing listens, so there is nothing to fail.

Standard library only (urllib), and no hudproxy import beyond this module, so it costs a few milliseconds every
interval and the image needs no curl. `HUDPROXY_HEALTH_URL` overrides the discovery.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "HUDPROXY_ADMIN_TOKEN"  # the same name as hudproxy.admin.TOKEN_ENV, not imported to stay light
URL_ENV = "HUDPROXY_HEALTH_URL"
HEALTH_PATH = "/_hudproxy/health"
SERVING = {"replay", "record"}
TIMEOUT_S = 3.0
# No proxy: a container given HTTP_PROXY for its upstream must still probe itself directly.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Probe:
    """What to ask one serving process: an HTTP health URL, or only whether its port accepts connections."""

    host: str
    port: int
    http: bool
    token: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{HEALTH_PATH}"


def _option(args: list[str], name: str) -> str | None:
    """The last value of `--name VALUE` or `--name=VALUE` (Click takes the last one too)."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg.partition("=")[2]
    return value


def _connect_host(host: str) -> str:
    """Where to reach a listener from inside its own network namespace: a wildcard bind answers on loopback."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "*"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def probe_for(argv: list[str], environ: dict[str, str] | None = None) -> Probe | None:
    """The probe for one process's argv, or None when it is not a serving hudproxy command.

    Accepts both `hudproxy replay ...` and `/opt/hudproxy/bin/python /opt/hudproxy/bin/hudproxy replay ...`.
    """
    environ = environ or {}
    for i, arg in enumerate(argv[:3]):
        if Path(arg).name == "hudproxy" and i + 1 < len(argv):
            command, args = argv[i + 1], argv[i + 2 :]
            break
    else:
        return None
    if command not in SERVING or "--stdio" in args or "--help" in args:
        return None
    host = _connect_host(_option(args, "--host") or "127.0.0.1")
    port = int(_option(args, "--port") or "8080")
    http = command == "replay" and (_option(args, "--mode") or "reverse") == "reverse"
    token = _option(args, "--admin-token") or environ.get(TOKEN_ENV) or None
    return Probe(host, port, http, token)


def _read_environ(path: Path) -> dict[str, str]:
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs}


def find_probe(proc: Path = Path("/proc")) -> tuple[Probe | None, bool]:
    """(probe, found): the first serving hudproxy process's probe; found is False when no hudproxy runs at all."""
    found = False
    pids = sorted((p for p in proc.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    for pid in pids:
        try:
            argv = [a.decode(errors="replace") for a in (pid / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if not any(Path(a).name == "hudproxy" for a in argv[:3]):
            continue
        found = True
        probe = probe_for(argv, _read_environ(pid / "environ"))
        if probe is not None:
            return probe, True
    return None, found


def http_check(url: str, token: str | None, timeout: float = TIMEOUT_S) -> tuple[bool, str]:
    """GET `url` (with the admin token when there is one): healthy on a 2xx answer."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(300).decode(errors="replace")
            return True, f"healthy: GET {url} -> {response.status} {body}"
    except urllib.error.HTTPError as exc:
        return False, f"unhealthy: GET {url} -> {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"unhealthy: GET {url}: {exc}"


def check(probe: Probe, timeout: float = TIMEOUT_S) -> tuple[bool, str]:
    """Run one probe: (healthy, one line for `docker inspect`'s health log)."""
    if probe.http:
        return http_check(probe.url, probe.token, timeout)
    try:
        with socket.create_connection((probe.host, probe.port), timeout=timeout):
            return True, f"healthy: {probe.host}:{probe.port} accepts connections"
    except OSError as exc:
        return False, f"unhealthy: {probe.host}:{probe.port}: {exc}"


def main() -> int:
    """Exit status for Docker: 0 healthy, 1 unhealthy (Docker reserves 2)."""
    url = os.environ.get(URL_ENV)
    if url:
        healthy, line = http_check(url, os.environ.get(TOKEN_ENV))
    else:
        probe, found = find_probe()
        if probe is None:
            healthy = found
            line = "healthy: hudproxy serves nothing to probe" if found else "unhealthy: no hudproxy process runs"
        else:
            healthy, line = check(probe)
    print(line)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
