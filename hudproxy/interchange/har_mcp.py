"""MCP exchanges in a HAR: shown as the streamable-HTTP JSON-RPC POSTs they are, restored exactly on import.

A HAR viewer sees `POST http://mcp.invalid/mcp/<server>` with the JSON-RPC request, and the JSON-RPC response
(a `text/event-stream` of the notifications then the answer, when the server sent notifications). The
exchange itself rides in `_hudproxy.mcp` in the cassette's own `mcp:` entry form, read back by the cassette's
own loader, so export → import gives the same exchange (params, result or error, notifications, timing).
`.invalid` never resolves (RFC 2606): the URL names the recorded server and is never a real address.
"""

from __future__ import annotations

import json
from typing import Any

from hudproxy.cassette.convert import Malformed
from hudproxy.cassette.mcp_section import mcp_from_dict, mcp_to_file
from hudproxy.errors import CassetteError
from hudproxy.interaction.mcp import quoted
from hudproxy.interaction.model import Interaction

ORIGIN = "http://mcp.invalid"
JSON_TYPE = "application/json"
STREAM_TYPE = "text/event-stream"


def mcp_entry(interaction: Interaction, started: str) -> dict[str, Any]:
    """The HAR entry of one MCP exchange."""
    recorded = mcp_to_file(interaction)
    rpc_id = interaction.index
    request = _compact({"jsonrpc": "2.0", "id": rpc_id, "method": recorded["method"], "params": recorded["params"]})
    answer = {"error": recorded["error"]} if "error" in recorded else {"result": recorded.get("result")}
    messages = [{"jsonrpc": "2.0", **n} for n in recorded.get("notifications") or []]
    messages.append({"jsonrpc": "2.0", "id": rpc_id, **answer})
    if len(messages) > 1:
        body, mime = "".join(f"event: message\ndata: {_compact(m)}\n\n" for m in messages), STREAM_TYPE
    else:
        body, mime = _compact(messages[0]), JSON_TYPE
    duration = interaction.duration_ms if interaction.duration_ms is not None else 0
    size = len(body.encode("utf-8"))
    return {
        "startedDateTime": started,
        "time": duration,
        "request": {
            "method": "POST",
            "url": f"{ORIGIN}/mcp/{quoted(recorded['server'])}",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": JSON_TYPE}, {"name": "Accept", "value": _ACCEPT}],
            "queryString": [],
            "headersSize": -1,
            "bodySize": len(request.encode("utf-8")),
            "postData": {"mimeType": JSON_TYPE, "text": request},
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": mime}],
            "content": {"size": size, "mimeType": mime, "text": body},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
        "_hudproxy": {"mcp": recorded},
    }


def mcp_interaction(recorded: Any, index: int, where: str) -> Interaction:
    """The exchange an entry's `_hudproxy.mcp` holds, as the cassette loader builds it."""
    try:
        return mcp_from_dict(recorded, index)
    except Malformed:
        raise CassetteError(
            f"{where}._hudproxy.mcp: not an MCP exchange as hudproxy exports it (server, method, params, result)."
        ) from None


_ACCEPT = f"{JSON_TYPE}, {STREAM_TYPE}"


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
