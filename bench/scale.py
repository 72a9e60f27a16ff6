"""Scale test: does replay stay flat as the cassette grows, and how long does a big cassette take to load?

Throughput is measured with a 100-interaction and a large cassette (wrk cycles over 500 requests spread
across the whole large range, so a server that scans, or caches only the first entries, shows it). Load time
is from process spawn to the first HTTP answer (and to the first correct replay), for the large cassette as
JSON and as YAML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procs import free_port, loaded, running, verify
from traffic import Interaction, spread_sample, write_cassette, write_wrk_script
from wrkrun import measure as measure_wrk
from wrkrun import run_wrk

SMALL_N = 100
Argv = Callable[[Path, int], list[str]]


@dataclass(frozen=True)
class ScaleInputs:
    """The cassettes and wrk scripts shared by every server in the scale test."""

    large_n: int
    small_json: Path
    large_json: Path
    large_yaml: Path
    small_sample: list[Interaction]
    large_sample: list[Interaction]
    small_script: Path
    large_script: Path


def prepare(workdir: Path, large_n: int) -> ScaleInputs:
    """Write the small and large cassettes (large as JSON and YAML) and their wrk scripts."""
    small_json = workdir / f"scale-{SMALL_N}.json"
    large_json, large_yaml = (workdir / f"scale-{large_n}.{ext}" for ext in ("json", "yaml"))
    write_cassette(small_json, SMALL_N)
    write_cassette(large_json, large_n)
    write_cassette(large_yaml, large_n)
    inputs = ScaleInputs(
        large_n=large_n,
        small_json=small_json,
        large_json=large_json,
        large_yaml=large_yaml,
        small_sample=spread_sample(SMALL_N),
        large_sample=spread_sample(large_n),
        small_script=workdir / "scale-small.lua",
        large_script=workdir / "scale-large.lua",
    )
    write_wrk_script(inputs.small_script, inputs.small_sample)
    write_wrk_script(inputs.large_script, inputs.large_sample)
    return inputs


@dataclass(frozen=True)
class Timing:
    """How long wrk runs, and how long a server may take to load."""

    connections: int
    duration_s: int
    warmup_s: int
    runs: int
    load_timeout_s: float


def new_entry(name: str, inputs: ScaleInputs) -> dict[str, Any]:
    """One server's scale result, filled in by ``measure`` as it goes (a failure keeps what was measured)."""
    return {"server": name, "small_n": SMALL_N, "large_n": inputs.large_n, "load": {}}


def measure(
    entry: dict[str, Any], argv: Argv, inputs: ScaleInputs, workdir: Path, timing: Timing, restart: bool
) -> None:
    """Small vs large throughput and the large cassette's load times (cold, and warm when ``restart``).

    ``restart``: the server keeps a cache of what it parsed (hudproxy's compiled cassettes), so a second start
    on the same file is measured too. The first start on each freshly written file is always cold.
    """
    port = free_port()
    with running(argv(inputs.small_json, port), port, workdir / f"{_slug(entry['server'])}-small.log"):
        verify(port, inputs.small_sample)
        entry["rps_small"] = _rps(port, inputs.small_script, timing)
    for fmt, cassette in (("json", inputs.large_json), ("yaml", inputs.large_yaml)):
        with _load(entry, f"{fmt} cold", argv, cassette, inputs, workdir, timing) as port:
            verify(port, inputs.large_sample)
            if fmt == "json":
                entry["rps_large"] = _rps(port, inputs.large_script, timing)
                entry["ratio"] = entry["rps_large"] / entry["rps_small"]
        if restart:
            with _load(entry, f"{fmt} warm", argv, cassette, inputs, workdir, timing) as port:
                verify(port, inputs.large_sample)


@contextmanager
def _load(
    entry: dict[str, Any], label: str, argv: Argv, cassette: Path, inputs: ScaleInputs, workdir: Path, timing: Timing
) -> Iterator[int]:
    """Start a server on ``cassette``, record its load time as ``entry["load"][label]``, yield its port."""
    port = free_port()
    log = workdir / f"{_slug(entry['server'])}-{_slug(label)}.log"
    probe = inputs.large_sample[-1]
    with loaded(argv(cassette, port), port, log, probe, timing.load_timeout_s) as (_, load):
        entry["load"][label] = load
        yield port


def _rps(port: int, script: Path, timing: Timing) -> float:
    """Warm up, then measure req/s at the scale test's concurrency."""
    t = timing
    return measure_wrk(port, script, t.connections, t.duration_s, t.warmup_s, t.runs).rps


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)


def measure_interleaved(
    entries: list[tuple[dict[str, Any], Argv]], inputs: ScaleInputs, workdir: Path, timing: Timing
) -> None:
    """(--interleave) Small and large (JSON) servers of every target up at once, measured back to back in each
    of ``timing.runs`` rounds; a server's ratio is the median over rounds of its large / small req/s in the same
    round, so a change in the machine's load between the two figures does not show as a scale effect. Load
    times are not measured in this mode (four servers load at once)."""
    with ExitStack() as stack:
        ports: dict[tuple[int, str], int] = {}
        for k, (entry, argv) in enumerate(entries):
            for size, cassette, sample in (
                ("small", inputs.small_json, inputs.small_sample),
                ("large", inputs.large_json, inputs.large_sample),
            ):
                port = free_port()
                log = workdir / f"{_slug(entry['server'])}-{size}.log"
                stack.enter_context(running(argv(cassette, port), port, log, timing.load_timeout_s))
                verify(port, sample)
                ports[k, size] = port
        scripts = {"small": inputs.small_script, "large": inputs.large_script}
        for (_, size), port in ports.items():
            run_wrk(port, scripts[size], timing.connections, timing.warmup_s)
        rounds: dict[tuple[int, str], list[float]] = {key: [] for key in ports}
        for _ in range(timing.runs):
            for (k, size), port in ports.items():
                rounds[k, size].append(run_wrk(port, scripts[size], timing.connections, timing.duration_s).rps)
        for k, (entry, _) in enumerate(entries):
            small, large = rounds[k, "small"], rounds[k, "large"]
            ratios = sorted(b / a for a, b in zip(small, large, strict=True))
            entry["rps_small"] = sorted(small)[(len(small) - 1) // 2]
            entry["rps_large"] = sorted(large)[(len(large) - 1) // 2]
            entry["ratio"] = ratios[(len(ratios) - 1) // 2]
            entry["rounds"] = {"small": small, "large": large}
