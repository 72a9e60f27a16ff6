"""`inspect --why REQUEST.json`: would this request match, and if not, what differs from the nearest.

The file holds an HTTP request, or an MCP call (`{"tool": ..., "arguments": {...}}` or a JSON-RPC message),
which is matched as replay matches it (`hudproxy.mcp.why` words the answer for MCP)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from hudproxy.cassette.model import Cassette
from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Interaction, Request
from hudproxy.matching.index import NearMiss
from hudproxy.mcp.exchange import is_mcp
from hudproxy.mcp.why import is_mcp_call_file, mcp_call_request
from hudproxy.replay.engine import ReplayEngine, policies_for
from hudproxy.replay.state import ReplayState

EXAMPLE = '{"method": "GET", "url": "/orders/A1?expand=items", "headers": {"Accept": "*/*"}, "json": {...}}'


class RequestFile(BaseModel):
    """A request written by hand or copied from a log: `url` may be a path; `json` or `body` for the body."""

    model_config = ConfigDict(extra="forbid")

    method: str = "GET"
    url: str
    headers: dict[str, str] = {}
    body: str | None = None
    json_body: Any = None

    @classmethod
    def parse(cls, data: Any) -> RequestFile:
        if isinstance(data, dict) and "json" in data:
            data = {**{k: v for k, v in data.items() if k != "json"}, "json_body": data["json"]}
        return cls.model_validate(data)


@dataclass
class WhyResult:
    request: Request
    matched: Interaction | None
    near: list[NearMiss] = field(default_factory=list)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such request file; expected JSON like {EXAMPLE}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); expected e.g. {EXAMPLE}") from None


def load_request_file(path: Path, origin: str = "http://replay.invalid") -> Request:
    """Read a request file; a bare path in `url` is resolved against `origin` (the cassette's recorded host)."""
    return _http_request(path, _read_json(path), origin)


def load_why_request(path: Path, cassette: Cassette) -> Request:
    """The request a `--why` file describes: an MCP call as replay would see it, or an HTTP request."""
    return why_request_from_data(_read_json(path), cassette, str(path))


def why_request_from_data(data: Any, cassette: Cassette, source: str) -> Request:
    """A request as a `--why` file's parsed JSON describes it (the web inspector's pasted text, too); `source`
    names it in errors."""
    if is_mcp_call_file(data):
        return mcp_call_request(data, cassette, source)
    return _http_request(Path(source), data, cassette_origin(cassette))


def _http_request(path: Path, data: Any, origin: str) -> Request:
    try:
        spec = RequestFile.parse(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise ConfigError(f"{path}: {where}: {first['msg'].lower()}; expected e.g. {EXAMPLE}") from None
    headers = dict(spec.headers)
    body = (spec.body or "").encode("utf-8")
    if spec.json_body is not None:
        body = json.dumps(spec.json_body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    url = spec.url
    if not urlsplit(url).scheme:
        url = origin.rstrip("/") + ("" if url.startswith("/") else "/") + url
    return Request(spec.method.upper(), url, tuple(headers.items()), body)


def cassette_origin(cassette: Cassette) -> str:
    """The first recorded HTTP origin (MCP exchanges, which may come first, have none)."""
    first = next((i for i in cassette.interactions if not is_mcp(i)), None)
    if first is None:
        return "http://replay.invalid"
    parts = urlsplit(first.request.url)
    return f"{parts.scheme}://{parts.netloc}"


def explain_request(cassette: Cassette, request: Request) -> WhyResult:
    """Match on a fresh session; report the answering interaction or the three nearest misses."""
    engine = ReplayEngine.from_cassette(cassette, policies_for(cassette), context="inspect --why")
    interaction = engine.lookup(request, ReplayState())
    if interaction is not None:
        return WhyResult(request, interaction)
    return WhyResult(request, None, engine.index.nearest(request))
