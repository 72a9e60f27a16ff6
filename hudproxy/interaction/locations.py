"""Keep a client on the proxy when the upstream sends it somewhere by absolute URL.

A reverse proxy stands in for its target, so an upstream's `Location: http://<target>/next` would send the
client straight to the target: while recording, the follow-up bypasses the recorder; in replay the client goes to
a dead port. `Location`, `Content-Location` and the `url=` of `Refresh` that point at the target (same scheme,
host and port; a scheme-relative `//host/…` by host and port) are pointed at the proxy's own address, the one the
client used (its `Host` header: the name matters, cookies are scoped by it). Relative URLs are left alone, and so
is every other host. The cassette keeps what the upstream sent; only what goes out to the client is rewritten.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from hudproxy.interaction.headers import Headers

URL_HEADERS = frozenset({"location", "content-location"})
REFRESH = "refresh"
REFRESH_URL = re.compile(r"(?P<lead>;\s*url\s*=\s*['\"]?)(?P<url>[^'\"\s]+)", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """`scheme://host[:port]` of an absolute URL, the port left out when it is the scheme's default ("" for a
    URL that has none: nothing then points at it)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{_authority(parts)}" if parts.netloc else ""
    except ValueError:
        return ""


def _authority(parts: SplitResult) -> str:
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    return host if port == DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"


def _same_place(parts: SplitResult, target: SplitResult) -> bool:
    """Scheme, host and port all equal (a scheme-relative URL takes the target's scheme)."""
    scheme = parts.scheme or target.scheme
    if scheme != target.scheme or (parts.hostname or "").lower() != (target.hostname or "").lower():
        return False
    return (parts.port or DEFAULT_PORTS.get(scheme)) == (target.port or DEFAULT_PORTS.get(target.scheme))


def relocate(url: str, target: str, proxy: str) -> str:
    """`url` pointed at `proxy` if it points at `target` (`scheme://host[:port]`), else `url` unchanged.

    `proxy` may carry a path prefix (a replay session's `/s/<id>`), put before the URL's path."""
    stripped = url.strip()
    if not target:
        return url
    try:
        parts = urlsplit(stripped)
        if not parts.netloc or not _same_place(parts, urlsplit(target)):
            return url  # relative (the client resolves it against the proxy already), or another host
    except ValueError:  # a malformed port or host: not ours to repair
        return url
    home = urlsplit(proxy)
    scheme = f"{home.scheme}:" if parts.scheme else ""
    rest = stripped[len(f"{parts.scheme}:" if parts.scheme else "") + 2 + len(parts.netloc) :]
    return f"{scheme}//{home.netloc}{home.path.rstrip('/')}{rest}"


def relocate_refresh(value: str, target: str, proxy: str) -> str:
    """`Refresh: 5; url=http://target/x` with its URL relocated."""
    return REFRESH_URL.sub(lambda m: m.group("lead") + relocate(m.group("url"), target, proxy), value, count=1)


def points_at(headers: Headers, target: str) -> bool:
    """True when a Location-like header would leave the proxy for `target` (what replay checks once per
    interaction, so responses without one cost nothing per request)."""
    return relocated(headers, target, "http://hudproxy.invalid") is not None


def relocated(headers: Headers, target: str, proxy: str) -> Headers | None:
    """The headers with Location, Content-Location and Refresh pointed at `proxy`; None when none changes."""
    changed = False
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in URL_HEADERS:
            new = relocate(value, target, proxy)
        elif lowered == REFRESH:
            new = relocate_refresh(value, target, proxy)
        else:
            new = value
        changed = changed or new != value
        out.append((name, new))
    return tuple(out) if changed else None


def proxy_origin(scheme: str, host_header: str | None, listening: tuple[str, int] | None) -> str:
    """Where the client reached the proxy: its Host header as sent; without one, the listening address."""
    if host_header:
        return f"{scheme}://{host_header.strip()}"
    host, port = listening or ("127.0.0.1", DEFAULT_PORTS.get(scheme, 80))
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" if port == DEFAULT_PORTS.get(scheme) else f"{scheme}://{host}:{port}"
