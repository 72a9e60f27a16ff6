"""What a fault makes of an answer, as plain values every server sends its own way.

The transport faults (reset, cut, stall, timeout) are the servers' to act out; here are the answers that are
still whole HTTP messages: an injected status, a recorded body truncated or made malformed, an MCP `isError`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from hudproxy.faults.model import MalformedFault, StatusFault, ToolErrorFault, TruncateFault
from hudproxy.faults.plan import FaultHit
from hudproxy.interaction.body import content_encoding, decode_body
from hudproxy.interaction.headers import Headers
from hudproxy.interaction.model import Response

FAULT_HEADER = "X-Hudproxy-Fault"  # on injected answers, naming the rule (a client never depends on it)
MALFORMED_TAIL = b'\n}{"hudproxy": injected malformed JSON'
NO_ANSWER_STATUS = 0  # the journal's status for a call that got no answer (reset, timeout)
DROPPED = frozenset({"content-length", "content-encoding", "transfer-encoding"})


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def status_response(fault: StatusFault, rule: str) -> Response:
    """The injected answer: the status, its headers, and the body (JSON unless a string; a default naming the
    rule when none is given)."""
    body: Any = fault.body
    if body is None:
        body = {"error": reason(fault.status).lower().replace(" ", "_") or "error",
                "message": f"injected by hudproxy (fault rule {rule})"}  # fmt: skip
    if isinstance(body, str):
        data, kind = body.encode("utf-8"), "text/plain; charset=utf-8"
    else:
        data, kind = json.dumps(body).encode("utf-8"), "application/json"
    given = {name.lower() for name in fault.headers}
    headers: list[tuple[str, str]] = [] if "content-type" in given else [("Content-Type", kind)]
    headers.extend((name, value) for name, value in fault.headers.items() if name.lower() != "content-length")
    headers += [("Content-Length", str(len(data))), (FAULT_HEADER, rule)]
    return Response(fault.status, reason(fault.status), tuple(headers), data)


def no_answer() -> Response:
    """What the journal keeps for a call that got nothing (the connection dropped, or never answered)."""
    return Response(NO_ANSWER_STATUS, "no answer", ((FAULT_HEADER, "1"),), b"")


def broken_body(response: Response, fault: TruncateFault | MalformedFault) -> Response:
    """The recorded answer with its body (decoded first) truncated or made malformed; a complete HTTP message."""
    plain = response.body
    encoding = content_encoding(response.headers)
    if encoding and encoding != "identity":
        plain = decode_body(plain, encoding) or plain
    plain = plain[: int(len(plain) * fault.keep)] if isinstance(fault, TruncateFault) else plain + MALFORMED_TAIL
    return Response(response.status, response.reason, resized(response.headers, len(plain)), plain)


def resized(headers: Headers, size: int) -> Headers:
    kept = [(name, value) for name, value in headers if name.lower() not in DROPPED]
    return (*kept, ("Content-Length", str(size)))


def tool_error_result(fault: ToolErrorFault, rule: str) -> dict[str, Any]:
    """An MCP `CallToolResult` saying the tool failed: what an agent must cope with."""
    return {"content": [{"type": "text", "text": fault.message}], "isError": True}


def fault_response(hit: FaultHit) -> Response:
    """The answer a fault gives in place of replay's: an injected status, an MCP tool error (as the MCP adapter
    journals results: `{"result": ...}`), or nothing (a dropped connection, no answer)."""
    fault = hit.fault
    if isinstance(fault, StatusFault):
        return status_response(fault, hit.rule)
    if isinstance(fault, ToolErrorFault):
        body = json.dumps({"result": tool_error_result(fault, hit.rule)}).encode("utf-8")
        return Response(200, "OK", (("Content-Type", "application/json"), ("Content-Length", str(len(body)))), body)
    return no_answer()
