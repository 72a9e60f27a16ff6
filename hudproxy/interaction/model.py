"""Request, Response and Interaction: plain frozen values that every layer passes around.

Bodies are kept as the exact bytes on the wire (still compressed when the response was); decoded views are
computed on demand by `hudproxy.interaction.body`. Nothing here knows about sockets, ASGI or mitmproxy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import SplitResult, parse_qsl, urlsplit

from hudproxy.interaction.headers import Headers

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a streamed body as it arrived: its size and when, relative to the response headers."""

    size: int
    at_ms: float


@dataclass(frozen=True)
class Request:
    """An HTTP request as recorded or as received; `url` is absolute (scheme://host:port/path?query)."""

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""

    @classmethod
    def from_parts(
        cls, method: str, scheme: str, netloc: str, path: str, query: str, headers: Headers, body: bytes
    ) -> Request:
        """Build from already-split parts (a server adapter has them) without re-parsing the URL."""
        request = cls(
            method, f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}", headers, body
        )
        request.__dict__["parts"] = SplitResult(scheme, netloc, path, query, "")
        return request

    @cached_property
    def parts(self) -> SplitResult:
        return urlsplit(self.url)

    @property
    def scheme(self) -> str:
        return self.parts.scheme

    @property
    def host(self) -> str:
        return self.parts.hostname or ""

    @property
    def port(self) -> int:
        return self.parts.port or (443 if self.parts.scheme == "https" else 80)

    @property
    def path(self) -> str:
        return self.parts.path or "/"

    @property
    def query_string(self) -> str:
        return self.parts.query

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.parts.query, keep_blank_values=True)

    @property
    def is_write(self) -> bool:
        """Non-safe methods change server state; state-aware replay follows them."""
        return self.method.upper() not in SAFE_METHODS

    def describe(self) -> str:
        """Short form for messages: `GET /orders/A1?x=1`."""
        target = self.path + (f"?{self.query_string}" if self.query_string else "")
        return f"{self.method} {target}"


@dataclass(frozen=True)
class Response:
    """An HTTP response; `body` is the wire bytes, `chunks` the boundaries when it was streamed."""

    status: int
    reason: str = ""
    headers: Headers = ()
    body: bytes = b""
    chunks: tuple[Chunk, ...] = ()


@dataclass(frozen=True)
class Interaction:
    """One recorded exchange plus what hudproxy knows about it."""

    request: Request
    response: Response
    index: int = 0
    recorded_at: str | None = None
    duration_ms: float | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
