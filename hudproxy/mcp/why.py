"""Why an MCP call does not match, in the agent's words: the tool, its arguments, the nearest recorded calls of
that tool and which arguments differ, rather than the synthetic `MCP mcp://<server>/tools/call/<tool>` request
the matcher sees (`body.amount` becomes `arguments.amount`, a differing path becomes a differing tool).

Used by `hudproxy inspect --why` (a call written in a file, checked against the cassette), by
`hudproxy journal --unmatched` (the diagnosis the replay server stored for a call it could not answer) and by the
replay server's log line for an unmatched MCP call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from hudproxy.cassette.model import Cassette
from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Interaction, Request
from hudproxy.matching.index import NearMiss
from hudproxy.mcp.catalog import catalogs
from hudproxy.mcp.exchange import METHOD, NAMED, SCHEME, is_mcp, request_for, strip_meta
from hudproxy.mcp.summary import mcp_summary, short
from hudproxy.replay.unmatched import diagnosis

EXAMPLE = '{"tool": "charge_card", "arguments": {"amount": 100}}  (or a JSON-RPC tools/call message)'
NOUNS = {"tools/call": "tool", "prompts/get": "prompt", "resources/read": "resource"}
_PATH_DIFF = re.compile(r"^path: (\S+) \(recorded (\S+)\)$")


def is_mcp_call_file(data: Any) -> bool:
    """A request file names an MCP call (`tool`, or a JSON-RPC message) rather than an HTTP request; HTTP
    methods never contain a slash, MCP methods always do."""
    if not isinstance(data, dict):
        return False
    return "tool" in data or "jsonrpc" in data or "/" in str(data.get("method", ""))


def mcp_call_request(data: dict[str, Any], cassette: Cassette, source: str = "request file") -> Request:
    """The synthetic request replay builds for this call: `{"tool": NAME, "arguments": {...}, "server": LABEL}`,
    or a JSON-RPC message as an agent sends it (`{"method": "tools/call", "params": {"name": ..., ...}}`)."""
    if "tool" in data:
        unknown = set(data) - {"tool", "arguments", "server"}
        if unknown:
            raise ConfigError(f"{source}: unexpected {', '.join(sorted(unknown))}; expected e.g. {EXAMPLE}")
        arguments = data.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise ConfigError(f"{source}: arguments must be a JSON object; expected e.g. {EXAMPLE}")
        if not isinstance(data["tool"], str) or not data["tool"]:
            raise ConfigError(f"{source}: tool must be the tool's name (text); expected e.g. {EXAMPLE}")
        method, params = "tools/call", {"name": data["tool"], "arguments": arguments}
    else:
        method, params = str(data.get("method", "")), data.get("params") or {}
        if not method or not isinstance(params, dict):
            raise ConfigError(f"{source}: a JSON-RPC call needs a method and params object; expected e.g. {EXAMPLE}")
    key = NAMED.get(method)
    if key is not None and not (isinstance(params.get(key), str) and params[key]):
        raise ConfigError(f"{source}: a {method} call needs params.{key} (text); expected e.g. {EXAMPLE}")
    return request_for(server_label(cassette, data.get("server"), source), method, strip_meta(params))


def server_label(cassette: Cassette, wanted: Any, source: str) -> str:
    """The recorded server the call is for: the one given, or the cassette's only one."""
    labels = list(catalogs(cassette))
    if wanted is not None:
        if str(wanted) not in labels:
            raise ConfigError(f"{source}: server {wanted!r} is not in the cassette (recorded: {', '.join(labels)}).")
        return str(wanted)
    if not labels:
        raise ConfigError(f"{source}: names an MCP call, but the cassette holds no MCP exchanges.")
    if len(labels) > 1:
        raise ConfigError(f'{source}: the cassette records several MCP servers; add "server": one of {labels}.')
    return labels[0]


def split_path(path: str) -> tuple[str, str | None]:
    """`/tools/call/charge_card` -> (`tools/call`, `charge_card`); `/tools/list` -> (`tools/list`, None)."""
    raw = path.lstrip("/")
    for method in NAMED:
        if raw.startswith(method + "/"):
            return method, unquote(raw[len(method) + 1 :])
    return unquote(raw), None


def describe_call(request: Request) -> str:
    """`tools/call charge_card {"amount":5}`: the call as an agent wrote it."""
    method, name = split_path(request.path)
    arguments = call_arguments(request)
    shown = short(json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))) if arguments else ""
    return " ".join(part for part in (method, name or "", shown) if part)


def call_arguments(request: Request) -> Any:
    """What the agent passed: a tool's arguments, a prompt's arguments, or the other params."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return request.body.decode("utf-8", "replace")
    if split_path(request.path)[0] == "prompts/get" and isinstance(body, dict) and set(body) == {"arguments"}:
        return body["arguments"]
    return body


def recorded_call(described: str) -> str:
    """A stored `MCP /tools/call/x` (the journal's diagnosis) as `tools/call x`."""
    prefix = f"{METHOD} "
    if not described.startswith(prefix):
        return described
    method, name = split_path(described[len(prefix) :])
    return f"{method} {name}" if name else method


def mcp_difference(difference: str, method: str) -> str:
    """One matcher difference in MCP terms: arguments rather than body, tool rather than path, server not host."""
    if difference.startswith("body"):
        rest = difference[len("body") :]
        if method == "tools/call":
            return "arguments" + rest
        if method == "prompts/get" and rest.startswith(".arguments"):
            return "arguments" + rest[len(".arguments") :]
        return "params" + rest
    found = _PATH_DIFF.match(difference)
    if found:
        (live_method, live_name), (their_method, their_name) = split_path(found[1]), split_path(found[2])
        if live_method == their_method and live_method in NOUNS:
            return f"{NOUNS[live_method]}: {live_name} (recorded {their_name})"
        live = f"{live_method} {live_name or ''}".strip()
        theirs = f"{their_method} {their_name or ''}".strip()
        return f"call: {live} (recorded {theirs})"
    if difference.startswith("host: "):
        return "server: " + difference[len("host: ") :]
    return difference


def mcp_diagnosis_lines(request: Request, near: list[NearMiss], interactions: Sequence[Interaction]) -> list[str]:
    """`inspect --why` for an MCP call: what was asked, whether that tool was ever called in the recording, the
    nearest recorded calls (with their arguments and result) and the arguments that differ."""
    method, name = split_path(request.path)
    server = unquote(request.parts.netloc)
    lines = [f"unmatched: {describe_call(request)} (MCP server {server})"]
    if name is not None and method in NOUNS:
        called = recorded_names(interactions, server, method)
        if name not in called:
            others = ", ".join(sorted(called)) or "none"
            lines.append(f"  {NOUNS[method]} {name} was never called in this recording (called: {others})")
    if not near:
        lines.append("  the cassette has no MCP calls to compare with")
    for rank, miss in enumerate(near, 1):
        call = mcp_summary(miss.interaction)["target"]
        lines.append(f"  #{rank} nearest: interaction {miss.interaction.index}: {call}")
        differences = [mcp_difference(d, method) for d in miss.differences] or [
            "(same call; all its answers were used)"
        ]
        lines.extend(f"      differs: {d}" for d in differences)
    return lines


def recorded_names(interactions: Sequence[Interaction], server: str, method: str) -> set[str]:
    """The tools (prompts, resources) `server` was asked for in the recording."""
    found = set()
    for interaction in interactions:
        request = interaction.request
        if is_mcp(interaction) and unquote(request.parts.netloc) == server:
            their_method, their_name = split_path(request.path)
            if their_method == method and their_name is not None:
                found.add(their_name)
    return found


def mcp_diagnosis_data(request: Request, near: list[NearMiss]) -> dict[str, Any]:
    """The same as data, for `--json`."""
    method, name = split_path(request.path)
    return {
        "request": describe_call(request),
        "mcp": {"server": unquote(request.parts.netloc), "method": method, "name": name,
                "arguments": call_arguments(request)},
        "nearest": [
            {
                "interaction": m.interaction.index,
                "call": mcp_summary(m.interaction)["target"],
                "differences": [mcp_difference(d, method) for d in m.differences],
                "distance": m.distance,
            }
            for m in near
        ],
    }  # fmt: skip


def describe_miss(
    request: Request, near: list[NearMiss], context: str = "", interactions: Sequence[Interaction] = ()
) -> str:
    """The engine's log line for a miss (`ReplayEngine.describe`): an MCP call in the agent's words (tool,
    arguments; `interactions` says which tools were ever called), any other request as HTTP replay words it."""
    if not request.url.startswith(f"{SCHEME}://"):
        return diagnosis(request, near, context, interactions)
    lines = mcp_diagnosis_lines(request, near, interactions)
    return "\n".join([lines[0] + (f" ({context})" if context else ""), *lines[1:]])
