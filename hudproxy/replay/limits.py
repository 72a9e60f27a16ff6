"""Bounded work per request: what one request body may cost, and where the costly part runs.

A body over the limit, or one that inflates past its size or ratio cap, is answered 413 and never looked at
again (the journal keeps its request line and headers, not its bytes). A large or compressed body is inflated,
parsed and hashed on a worker thread, so one session's big upload never stalls another session's GET.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace

from hudproxy.errors import ConfigError
from hudproxy.interaction.body import (
    COMPRESSED_ENCODINGS,
    REQUEST_LIMITS,
    BodyLimits,
    BodyTooLarge,
    content_encoding,
    inflate,
)
from hudproxy.interaction.model import Request, Response
from hudproxy.matching.index import RequestKey
from hudproxy.replay.engine import Outcome, ReplayEngine
from hudproxy.replay.state import ReplayState

TOO_LARGE_STATUS = 413
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
              "g": 1024**3, "gb": 1024**3, "gib": 1024**3}  # fmt: skip
SIZE = re.compile(r"\s*(\d+)\s*([a-zA-Z]*)\s*")
HEAVY_BODY = 64 * 1024  # above this (or compressed), a body's key is computed on a worker thread


def parse_size(text: str, option: str = "--max-body") -> int:
    """`64MB`, `512k`, `1048576`: a byte count (binary units); ConfigError naming the option otherwise."""
    match = SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in SIZE_UNITS or int(match.group(1)) == 0:
        raise ConfigError(f"{option} {text!r}: give a size such as 64MB, 512KB or 1048576 (bytes), above 0.")
    return int(match.group(1)) * SIZE_UNITS[unit]


def limits_for(max_body: int | None) -> BodyLimits:
    """The request limits for a `--max-body`/`max_body=` value (None: the 64 MiB default)."""
    return REQUEST_LIMITS if max_body is None else replace(REQUEST_LIMITS, max_size=max_body)


def too_large_response(message: str) -> Response:
    """413 with a short JSON body saying which limit and how to raise it."""
    payload = {"error": "body_too_large", "message": f"{message}; hudproxy --max-body raises the limit."}
    body = json.dumps(payload).encode("utf-8")
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close"))
    return Response(TOO_LARGE_STATUS, "Content Too Large", headers, body)


def refused(request: Request, message: str) -> Outcome:
    """The 413 outcome; the journal gets the request without its body (a bomb is not kept anywhere)."""
    return Outcome(replace(request, body=b""), too_large_response(message))


def size_refusal(limits: BodyLimits) -> str:
    return f"the request body is over {limits.max_size} bytes"


def is_heavy(request: Request, limits: BodyLimits = REQUEST_LIMITS) -> bool:
    """Worth a worker thread (or a refusal): large, compressed, or over a limit set lower than HEAVY_BODY."""
    size = len(request.body)
    if not size:
        return False
    return size > min(HEAVY_BODY, limits.max_size) or content_encoding(request.headers) in COMPRESSED_ENCODINGS


def checked_key(engine: ReplayEngine, request: Request, limits: BodyLimits) -> RequestKey:
    """The request's key once its body is known to fit `limits` (BodyTooLarge otherwise). Runs on a thread."""
    encoding = content_encoding(request.headers)
    if encoding in COMPRESSED_ENCODINGS:
        inflate(request.body, encoding, limits)
    return engine.index.live_key(request)


async def handle_off_loop(
    engine: ReplayEngine, request: Request, state: ReplayState, limits: BodyLimits = REQUEST_LIMITS
) -> Outcome:
    """`engine.handle` with the heavy parts (inflating, parsing, hashing, explaining a miss) on a worker thread;
    the session's state is read and advanced on the event loop only, as for every other request."""
    if len(request.body) > limits.max_size:  # forward mode: mitmproxy's body_size_limit refuses it before this
        return refused(request, size_refusal(limits))
    try:
        key = await asyncio.to_thread(checked_key, engine, request, limits)
    except BodyTooLarge as exc:
        return refused(request, str(exc))
    interaction = engine.lookup(request, state, key)
    if interaction is not None:
        return Outcome(request, interaction.response, interaction)
    return await asyncio.to_thread(engine.unmatched, request, key)
