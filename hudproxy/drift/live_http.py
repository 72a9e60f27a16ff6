"""Send a recorded request to the live system again: as recorded, at another base URL if asked, with the real
secrets the user passes (`--header`) in place of the cassette's placeholders."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from hudproxy.interaction.headers import Headers
from hudproxy.interaction.model import Request, Response
from hudproxy.scrub.placeholder import PLACEHOLDER

# set by the client for the new connection, never replayed from the recording
NOT_RESENT = frozenset({
    "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
    "proxy-connection", "proxy-authorization",
})  # fmt: skip


class NotSent(Exception):
    """The live system gave no answer (refused, reset, timed out); `connect` when it could not be reached."""

    def __init__(self, message: str, connect: bool = False) -> None:
        super().__init__(message)
        self.connect = connect


def rebased(url: str, against: str | None, recorded_target: str | None) -> str:
    """The recorded URL at `against`: the recorded target's prefix swapped for it, else scheme and host swapped."""
    if not against:
        return url
    base = against.rstrip("/")
    if recorded_target and url.startswith(recorded_target.rstrip("/")):
        return base + url[len(recorded_target.rstrip("/")) :]
    parts = urlsplit(url)
    rest = url[len(f"{parts.scheme}://{parts.netloc}") :]
    return base + rest


def prepared(request: Request, url: str, extra: dict[str, str]) -> Request | str:
    """The request to send, or why it cannot be sent as recorded (a placeholder where the real secret belongs)."""
    overridden = {name.lower() for name in extra}
    headers: Headers = tuple(
        (k, v) for k, v in request.headers if k.lower() not in NOT_RESENT and k.lower() not in overridden
    ) + tuple(extra.items())
    for name, value in headers:
        if PLACEHOLDER in value:
            return (
                f"header {name} carries a scrubbed secret ({value[:40]}): pass the real one with --header '{name}: ...'"
            )
    if PLACEHOLDER in url:
        return "its URL carries a scrubbed secret (a query parameter); it cannot be sent as recorded"
    if PLACEHOLDER.encode() in request.body:
        return "its body carries a scrubbed secret; it cannot be sent as recorded"
    return Request(request.method, url, headers, request.body)


class LiveHttp:
    """One connection pool for the whole run; bodies read as wire bytes (still compressed), as the recorder
    stores them."""

    def __init__(self, timeout: float = 30.0, insecure: bool = False) -> None:
        self.client = httpx.Client(timeout=timeout, verify=not insecure, follow_redirects=False)

    def send(self, request: Request) -> tuple[Response, float]:
        """The live answer and how long it took (ms); NotSent when there is none."""
        started = time.perf_counter()
        try:
            built = self.client.build_request(
                request.method, request.url, headers=list(request.headers), content=request.body or None
            )
            answer = self.client.send(built, stream=True)
            try:
                body = b"".join(answer.iter_raw())
            finally:
                answer.close()
        except httpx.ConnectError as exc:
            raise NotSent(f"no answer: could not connect ({exc})", connect=True) from None
        except httpx.HTTPError as exc:
            raise NotSent(f"no answer: {type(exc).__name__} ({exc})") from None
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers.raw)
        elapsed = (time.perf_counter() - started) * 1000
        return Response(answer.status_code, answer.reason_phrase, headers, body), elapsed

    def close(self) -> None:
        self.client.close()
