"""`verify`: send a cassette's recorded requests to the live system and report what no longer matches.

HTTP interactions go to `against` (or where they were recorded); MCP exchanges to the live MCP server the caller
names. Both sides are compared as the cassette stores them: the live answer is scrubbed by the cassette's own
policy first (the recorder's `scrub_interaction` / `scrub_exchange`), so `--update` writes exactly what a new
recording would, through the atomic cassette writer.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from hudproxy.cassette.atomic import atomic_write
from hudproxy.cassette.files import load_cassette, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.drift.jsondiff import Change
from hudproxy.drift.live_http import LiveHttp, NotSent, prepared, rebased
from hudproxy.drift.report import InteractionResult, Verdict, VerifyReport
from hudproxy.drift.responses import answer_of, compare_answers
from hudproxy.drift.tools import compare_tools, tools_of
from hudproxy.drift.volatile import (
    Volatile,
    default_file,
    dump_volatile,
    learned_between,
    load_volatile,
    route_key,
)
from hudproxy.errors import ConfigError, HudproxyError
from hudproxy.interaction.mcp import Exchange, from_interaction, is_mcp, to_interaction
from hudproxy.interaction.model import Interaction, Request
from hudproxy.scrub.mcp import scrub_exchange
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_interaction

if TYPE_CHECKING:  # the SDK is imported only when MCP is verified
    from hudproxy.drift.live_mcp import LiveAnswer
    from hudproxy.mcp.upstream import Upstream

log = logging.getLogger("hudproxy.verify")
WRITES_HINT = "a write: not sent (--include-writes sends it; point --against at a staging system)"


@dataclass
class VerifyOptions:
    against: str | None = None
    include_writes: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    volatile: Volatile = field(default_factory=Volatile)
    volatile_file: Path | None = None  # default: <cassette>.volatile.yaml
    learn: bool = False
    update: bool = False
    timeout: float = 30.0
    concurrency: int = 8  # reads in flight at once (writes are always sent one by one, in order)
    insecure: bool = False
    mcp: Upstream | None = None
    mcp_name: str | None = None


def verify(path: Path, options: VerifyOptions) -> VerifyReport:
    cassette = load_cassette(path)
    policy = cassette_policy(cassette, path)
    volatile_file = options.volatile_file or default_file(path)
    stored = load_volatile(volatile_file) if volatile_file.exists() else Volatile()
    report = VerifyReport(str(path), options.against or cassette.meta.get("target"), volatile_file=str(volatile_file))
    volatile = options.volatile | stored
    http = [i for i in cassette.interactions if not is_mcp(i)]
    mcp = [i for i in cassette.interactions if is_mcp(i)]
    if options.mcp is not None and not mcp:
        raise ConfigError(f"{path}: holds no MCP exchanges, so there is nothing to verify against an MCP server.")
    replacements: dict[int, Interaction] = {}
    learned = Volatile()
    if http:
        learned = _verify_http(http, cassette, policy, volatile, options, report, replacements)
    if mcp and options.mcp is not None:
        learned = learned | _verify_mcp(mcp, cassette, policy, volatile, options, report, replacements)
    elif mcp:
        report.notes.append(
            f"{len(mcp)} MCP exchanges not verified: name the live server with --mcp-command or --mcp-url."
        )
    if options.learn:
        report.learned = learned
        atomic_write(volatile_file, dump_volatile(stored | learned).encode("utf-8"))
        report.notes.append(f"volatile fields learned and saved in {volatile_file}")
    if options.update and replacements:
        cassette.interactions = [replacements.get(i.index, i) for i in cassette.interactions]
        save_cassette(cassette, path)
        report.updated = len(replacements)
    return report


def cassette_policy(cassette: Cassette, path: Path) -> ScrubPolicy:
    """The policy the cassette was recorded with (its `hudproxy.scrub` section), so live answers are scrubbed alike."""
    recorded = cassette.meta.get("scrub")
    if recorded is None:
        return ScrubPolicy.default()
    try:
        return ScrubPolicy.from_dict(recorded)
    except HudproxyError as exc:
        raise ConfigError(f"{path}: hudproxy.scrub: {exc}") from None


# ---------------------------------------------------------------------------------------------- HTTP


def _verify_http(
    interactions: list[Interaction],
    cassette: Cassette,
    policy: ScrubPolicy,
    volatile: Volatile,
    options: VerifyOptions,
    report: VerifyReport,
    replacements: dict[int, Interaction],
) -> Volatile:
    """Send, learn (each read twice when asked), then compare with everything learned; returns what was learned."""
    target = cassette.meta.get("target")
    to_send: list[tuple[Interaction, InteractionResult, Request]] = []
    for interaction in interactions:
        result = InteractionResult(interaction.index, interaction.request.describe())
        report.results.append(result)
        if interaction.request.is_write and not options.include_writes:
            result.skipped = WRITES_HINT
            continue
        request = prepared(
            interaction.request, rebased(interaction.request.url, options.against, target), options.headers
        )
        if isinstance(request, str):
            result.skipped = f"not sent: {request}"
        else:
            to_send.append((interaction, result, request))
    live = LiveHttp(options.timeout, options.insecure)
    try:
        # reads alone may go in parallel; once a write is sent, order is the recording's (a read sees the write)
        workers = 1 if any(i.request.is_write for i, _, _ in to_send) else max(1, options.concurrency)
        with ThreadPoolExecutor(workers) as pool:
            fetched = list(pool.map(lambda job: _fetch(live, job[2], job[0], policy, options.learn), to_send))
    finally:
        live.close()
    if fetched and all(isinstance(f, NotSent) and f.connect for f in fetched):
        where = options.against or target or "the recorded hosts"
        raise ConfigError(f"could not reach {where}: every request was refused (is it running? see --against URL).")
    learned = Volatile()
    for got in fetched:
        if not isinstance(got, NotSent):
            learned = learned | got[1]
    ignore = volatile | learned
    for (interaction, result, _), got in zip(to_send, fetched, strict=True):
        if isinstance(got, NotSent):
            result.failed = str(got)
            continue
        scrubbed = got[0]
        key = route_key(interaction.request.method, interaction.request.path)
        result.drift = compare_answers(
            answer_of(interaction.response), answer_of(scrubbed.response), ignore.for_request(key)
        )
        if options.update and result.verdict in (Verdict.DRIFTED, Verdict.BREAKING):
            replacements[interaction.index] = replace(
                interaction, response=scrubbed.response, recorded_at=now(), duration_ms=scrubbed.duration_ms
            )
            result.updated = True
    return learned


def _fetch(
    live: LiveHttp, request: Request, recorded: Interaction, policy: ScrubPolicy, learn: bool
) -> tuple[Interaction, Volatile] | NotSent:
    """The live answer scrubbed as the recorder would store it, and (learning, for a read) what differed when the
    same read was sent again; NotSent when there was no answer."""
    try:
        response, ms = live.send(request)
        scrubbed = scrub_interaction(Interaction(request, response, recorded.index, duration_ms=ms), policy)
        if not learn or request.is_write:
            return scrubbed, Volatile()
        again = answer_of(scrub_interaction(Interaction(request, live.send(request)[0]), policy).response)
    except NotSent as exc:
        return exc
    first = answer_of(scrubbed.response)
    bodies = (first.body, again.body) if first.is_json and again.is_json else (None, None)
    key = route_key(recorded.request.method, recorded.request.path)
    return scrubbed, learned_between(key, *bodies, first.headers, again.headers)


# ---------------------------------------------------------------------------------------------- MCP


def _verify_mcp(
    interactions: list[Interaction],
    cassette: Cassette,
    policy: ScrubPolicy,
    volatile: Volatile,
    options: VerifyOptions,
    report: VerifyReport,
    replacements: dict[int, Interaction],
) -> Volatile:
    """The tool list compared, the recorded read-only calls re-run (twice when learning); returns what was learned."""
    from hudproxy.drift.live_mcp import ask_live
    from hudproxy.mcp.catalog import catalogs

    assert options.mcp is not None
    servers = catalogs(cassette)
    label = _chosen_server(list(servers), options.mcp_name)
    report.mcp = f"{label} at {options.mcp.describe()}"
    recorded_tools = servers[label].tools
    read_only = {name for name, tool in recorded_tools.items() if (tool.get("annotations") or {}).get("readOnlyHint")}
    calls: list[tuple[Interaction, Exchange, InteractionResult]] = []
    for interaction in interactions:
        exchange = from_interaction(interaction)
        if exchange.server != label or exchange.method != "tools/call":
            continue
        result = InteractionResult(interaction.index, f"tools/call {exchange.name}", kind="mcp")
        report.results.append(result)
        if exchange.name in read_only or options.include_writes:
            calls.append((interaction, exchange, result))
        else:
            result.skipped = "not read-only (no readOnlyHint): not re-run (--include-writes re-runs it)"
    twice = [(exchange.params, options.learn and exchange.name in read_only) for _, exchange, _ in calls]
    live = ask_live(options.mcp, twice, options.timeout)
    report.tools = compare_tools(label, recorded_tools, tools_of(live.listing))
    fresh: list[Interaction] = []
    learned = Volatile()
    for (interaction, exchange, _), answer in zip(calls, live.answers, strict=True):
        fresh.append(_answered(label, exchange, answer, policy, interaction.index))
        if answer.again is not None:
            again = _answered(label, exchange, answer.again, policy, interaction.index)
            first, second = answer_of(fresh[-1].response).body, answer_of(again.response).body
            learned = learned | learned_between(f"tools/call {exchange.name}", first, second, {}, {})
    ignore = volatile | learned
    for (interaction, exchange, result), live_interaction in zip(calls, fresh, strict=True):
        key = f"tools/call {exchange.name}"
        drift = compare_answers(
            answer_of(interaction.response), answer_of(live_interaction.response), ignore.for_request(key)
        )
        drift.body = [_tool_error_breaks(c) for c in drift.body]
        result.drift = drift
        if options.update and result.verdict in (Verdict.DRIFTED, Verdict.BREAKING):
            replacements[interaction.index] = live_interaction
            result.updated = True
    if options.update and report.tools:
        for interaction in interactions:
            exchange = from_interaction(interaction)
            if exchange.server == label and exchange.method == "tools/list" and exchange.error is None:
                listing = {**(exchange.result or {}), "tools": live.listing["tools"]}
                listing.pop("nextCursor", None)
                relisted = Exchange(label, "tools/list", exchange.params, listing)
                replacements[interaction.index] = to_interaction(
                    relisted, interaction.index, recorded_at=now(), duration_ms=interaction.duration_ms
                )
    return learned


def _answered(label: str, exchange: Exchange, answer: LiveAnswer, policy: ScrubPolicy, index: int) -> Interaction:
    """A live answer as the recorder would store it: the exchange scrubbed (`scrub_exchange`), as an interaction."""
    fresh = scrub_exchange(Exchange(label, "tools/call", exchange.params, answer.result, answer.error), policy)
    return to_interaction(fresh, index, recorded_at=now(), duration_ms=answer.ms)


def _chosen_server(labels: list[str], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in labels:
            raise ConfigError(f"--mcp-name {wanted!r}: the cassette holds MCP servers {', '.join(labels)}.")
        return wanted
    if len(labels) != 1:
        raise ConfigError(f"the cassette holds MCP servers {', '.join(labels)}: choose one with --mcp-name.")
    return labels[0]


def _tool_error_breaks(change: Change) -> Change:
    """A tool that answered and now answers `isError: true` broke, as an HTTP 2xx turned 5xx would have."""
    if change.path == ("result", "isError") and change.after is True:
        return replace(change, breaking=True)
    return change


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
