"""`verify` for MCP: the live server's tool list against the recorded one, and the recorded read-only calls
(`readOnlyHint`) re-run and compared as the recorder would have stored their answers (`scrub_exchange`)."""

from __future__ import annotations

from dataclasses import replace

from hudproxy.cassette.model import Cassette
from hudproxy.drift.jsondiff import Change
from hudproxy.drift.live_mcp import LiveAnswer, ask_live
from hudproxy.drift.options import VerifyOptions, now
from hudproxy.drift.report import InteractionResult, Verdict, VerifyReport
from hudproxy.drift.responses import answer_of, compare_answers
from hudproxy.drift.tools import compare_tools, tools_of
from hudproxy.drift.volatile import Volatile, learned_between
from hudproxy.errors import ConfigError
from hudproxy.interaction.mcp import Exchange, from_interaction, to_interaction
from hudproxy.interaction.model import Interaction
from hudproxy.mcp.catalog import catalogs
from hudproxy.scrub.mcp import scrub_exchange
from hudproxy.scrub.policy import ScrubPolicy


def verify_mcp(
    interactions: list[Interaction],
    cassette: Cassette,
    policy: ScrubPolicy,
    volatile: Volatile,
    options: VerifyOptions,
    report: VerifyReport,
    replacements: dict[int, Interaction],
) -> Volatile:
    """The tool list compared, the recorded read-only calls re-run (twice when learning); returns what was learned."""
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
