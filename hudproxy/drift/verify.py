"""`verify`: send a cassette's recorded requests to the live system and report what no longer matches.

HTTP interactions go to `against` (or where they were recorded); MCP exchanges to the live MCP server the caller
names. Both sides are compared as the cassette stores them: the live answer is scrubbed by the cassette's own
policy first (the recorder's `scrub_interaction` / `scrub_exchange`), so `--update` writes exactly what a new
recording would, through the atomic cassette writer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from hudproxy.cassette.atomic import atomic_write
from hudproxy.cassette.files import load_cassette, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.drift.live_http import LiveHttp, NotSent, prepared, rebased
from hudproxy.drift.options import VerifyOptions, now
from hudproxy.drift.report import InteractionResult, Verdict, VerifyReport
from hudproxy.drift.responses import answer_of, compare_answers
from hudproxy.drift.volatile import (
    Volatile,
    default_file,
    dump_volatile,
    learned_between,
    load_volatile,
    route_key,
)
from hudproxy.errors import ConfigError, HudproxyError
from hudproxy.interaction.mcp import is_mcp
from hudproxy.interaction.model import Interaction, Request
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_interaction

WRITES_HINT = "a write: not sent (--include-writes sends it; point --against at a staging system)"


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
        from hudproxy.drift.verify_mcp import verify_mcp  # the MCP SDK is imported only when MCP is verified

        learned = learned | verify_mcp(mcp, cassette, policy, volatile, options, report, replacements)
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
