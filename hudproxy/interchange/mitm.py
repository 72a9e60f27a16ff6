"""mitmproxy flow files (`mitmdump -w FILE`, or saved from mitmweb) in: every HTTP flow that got a response.

mitmproxy's own reader does the parsing (it upgrades old flow-file versions itself); the flows are converted
with the same edge functions the recording proxy uses, so an imported flow equals a recorded one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mitmproxy import http
from mitmproxy.exceptions import FlowReadException
from mitmproxy.io import FlowReader

from hudproxy.cassette.model import Cassette
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction
from hudproxy.proxy.convert import request_from_flow, response_from_flow


def read(path: Path) -> Cassette:
    flows = [f for f in _flows(path) if _replayable(f)]
    return Cassette(interactions=[_interaction(flow, n) for n, flow in enumerate(flows)], meta={})


def _replayable(flow: object) -> bool:
    """An HTTP exchange that got a response; WebSocket upgrades and raw TCP/UDP flows are not replayable here."""
    return isinstance(flow, http.HTTPFlow) and flow.response is not None and flow.websocket is None


def _flows(path: Path) -> list[object]:
    """All flows in the file; a damaged file is one clear error, never a traceback from the parser."""
    try:
        with path.open("rb") as handle:
            return list(FlowReader(handle).stream())
    except FlowReadException as exc:
        problem = str(exc).rstrip(".") or "unreadable"
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        problem = f"damaged or truncated ({type(exc).__name__})"
    raise CassetteError(f"{path}: not a mitmproxy flow file: {problem}; write one with `mitmdump -w FILE`.")


def _interaction(flow: http.HTTPFlow, index: int) -> Interaction:
    response = flow.response
    assert response is not None  # filtered by the caller
    started = flow.request.timestamp_start
    ended = response.timestamp_end or response.timestamp_start or started
    return Interaction(
        request=request_from_flow(flow.request),
        response=response_from_flow(response, response.raw_content or b""),
        index=index,
        recorded_at=_iso(started),
        duration_ms=max(ended - started, 0.0) * 1000,
    )


def _iso(timestamp: float) -> str:
    """hudproxy's recorded_at format: ISO 8601 UTC with milliseconds and a Z."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
