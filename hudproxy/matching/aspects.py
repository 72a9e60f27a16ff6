"""One matcher per aspect of a request: each gives a hashable key and, on a miss, what differs.

A request's index key is the tuple of its matchers' keys, so lookup is one dict access; `differences` is used
only to explain misses (WireMock's near misses, vcrpy's "which matcher failed").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote_plus

from hudproxy.interaction.body import content_encoding, decode_body, parse_json
from hudproxy.interaction.headers import header_value
from hudproxy.interaction.model import Request
from hudproxy.matching.chat import chat_differences, chat_view, is_chat
from hudproxy.matching.policy import MatchPolicy
from hudproxy.scrub.matching import match_json, match_pairs, request_scrubber
from hudproxy.scrub.scrubber import FORM_TYPE, scrub_decoded_body

DETAIL_LIMIT = 1024 * 1024  # a live body larger than this is not diffed field by field when explaining a miss
WEIGHTS = {"method": 3, "scheme": 2, "host": 3, "port": 2, "path": 4, "query": 1, "body": 1}


class Matcher(Protocol):
    name: str

    def key(self, request: Request, policy: MatchPolicy) -> Hashable: ...

    def distance(self, a: Hashable, b: Hashable) -> int:
        """How far apart two keys of this aspect are (0 when equal); ranks near misses."""
        ...

    def differences(self, live: Request, recorded: Request, policy: MatchPolicy) -> list[str]: ...


class _Simple:
    """Aspects compared as one value: method, scheme, host, port, path."""

    def __init__(self, name: str, weight: int) -> None:
        self.name = name
        self.weight = weight

    def key(self, request: Request, policy: MatchPolicy) -> Hashable:
        value = getattr(request, self.name)
        return value.upper() if self.name == "method" else value

    def distance(self, a: Hashable, b: Hashable) -> int:
        return 0 if a == b else self.weight

    def differences(self, live: Request, recorded: Request, policy: MatchPolicy) -> list[str]:
        a, b = self.key(live, policy), self.key(recorded, policy)
        if a == b:
            return []
        return [f"{self.name}: {a} (recorded {b})"]


class PathMatcher(_Simple):
    """The path, compared whole for matching; by segments for closeness (/orders/A9 is near /orders/A1)."""

    def __init__(self) -> None:
        super().__init__("path", WEIGHTS["path"])

    def key(self, request: Request, policy: MatchPolicy) -> Hashable:
        """The path with secrets the recorder hid in it (a JWT segment, a header's key repeated) as their kind."""
        return request_scrubber(request, policy.scrub).text(request.path)

    def distance(self, a: Hashable, b: Hashable) -> int:
        if a == b:
            return 0
        left, right = str(a).strip("/").split("/"), str(b).strip("/").split("/")
        differing = sum(x != y for x, y in zip(left, right, strict=False)) + 2 * abs(len(left) - len(right))
        return 2 + differing


class QueryMatcher:
    """Query parameters as a multiset: order-insensitive, ignored keys dropped, secrets normalised."""

    name = "query"

    def pairs(self, request: Request, policy: MatchPolicy) -> list[tuple[str, str]]:
        qs = request.query_string
        if not qs:
            return []
        pairs = [(k, v) for k, v in parse_query(qs) if k not in policy.ignore_query]
        return match_pairs(pairs, request_scrubber(request, policy.scrub))

    def key(self, request: Request, policy: MatchPolicy) -> Hashable:
        return tuple(sorted(self.pairs(request, policy)))

    def distance(self, a: Hashable, b: Hashable) -> int:
        """A changed value (1) is closer than a missing or extra parameter (2)."""
        mine, theirs = _group(list(a)), _group(list(b))  # type: ignore[call-overload]
        return sum(
            (2 if name not in mine or name not in theirs else 1)
            for name in set(mine) | set(theirs)
            if mine.get(name) != theirs.get(name)
        )

    def differences(self, live: Request, recorded: Request, policy: MatchPolicy) -> list[str]:
        mine, theirs = _group(self.pairs(live, policy)), _group(self.pairs(recorded, policy))
        out = []
        for name in sorted(set(mine) | set(theirs)):
            a, b = mine.get(name), theirs.get(name)
            if a == b:
                continue
            if a is None:
                out.append(f"query {name}: missing (recorded {_show(b)})")
            elif b is None:
                out.append(f"query {name}: {_show(a)} (not in the recording)")
            else:
                out.append(f"query {name}: {_show(a)} (recorded {_show(b)})")
        return out


def parse_query(query: str) -> list[tuple[str, str]]:
    """`parse_qsl(query, keep_blank_values=True)`, several times faster for the common unescaped case."""
    out = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            name, value = unquote_plus(name), unquote_plus(value)
        out.append((name, value))
    return out


def _group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return {k: sorted(v) for k, v in out.items()}


def _show(values: Any) -> str:
    if isinstance(values, list) and len(values) == 1:
        values = values[0]
    text = json.dumps(values, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


class BodyMatcher:
    """Bodies as data: JSON compared as parsed values, forms as field multisets, anything else as bytes.

    A chat-completions call (`hudproxy.matching.chat`) is compared as a conversation: volatile fields dropped,
    messages normalised, and a miss named by the turn that differs."""

    name = "body"

    def __init__(self) -> None:
        self._last: tuple[Request | None, tuple[str, Any]] = (None, ("empty", None))

    def live_view(self, request: Request, policy: MatchPolicy) -> tuple[str, Any]:
        """`view`, kept for the last live request: explaining a miss asks for it once per candidate."""
        last = self._last  # one read: another thread may replace it meanwhile
        if last[0] is request:
            return last[1]
        seen = self.view(request, policy)
        self._last = (request, seen)
        return seen

    def forget(self) -> None:
        """Drop the kept live view (a body can be 64 MiB): called once a miss is explained."""
        self._last = (None, ("empty", None))

    def view(self, request: Request, policy: MatchPolicy) -> tuple[str, Any]:
        body = request.body
        if not body:
            return ("empty", None)
        encoding = content_encoding(request.headers)
        if encoding != "identity":
            body = decode_body(body, encoding) or body
        content_type = header_value(request.headers, "content-type")
        is_json, data = parse_json(body, content_type)
        if is_json:
            try:
                if is_chat(request) and isinstance(data, dict):  # its tools are schemas, not data: not scrubbed
                    data, tools = {k: v for k, v in data.items() if k != "tools"}, data.get("tools")
                    scrubbed = chat_view(match_json(data, request_scrubber(request, policy.scrub)), tools)
                else:
                    scrubbed = match_json(data, request_scrubber(request, policy.scrub))
                return ("json", _drop_fields(scrubbed, policy.ignore_json_fields))
            except RecursionError:  # parsed, but too deep to walk: compared as bytes
                return ("bytes", body)
        if content_type and FORM_TYPE in content_type.lower():
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if k not in policy.ignore_json_fields]
            return ("form", sorted(match_pairs(kept, request_scrubber(request, policy.scrub), form=True)))
        return ("bytes", scrub_decoded_body(body, content_type or "", request_scrubber(request, policy.scrub)))

    def distance(self, a: Hashable, b: Hashable) -> int:
        return 0 if a == b else 2

    def key(self, request: Request, policy: MatchPolicy) -> Hashable:
        """(kind, digest): a few bytes per request whatever the body's size, so keys are cheap to keep."""
        kind, data = self.view(request, policy)
        if kind == "json":
            try:
                canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            except RecursionError:
                kind, data = "bytes", request.body
            else:
                return ("json", _digest(canonical.encode("utf-8", "surrogatepass")))
        if kind == "form":
            return ("form", _digest(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")))
        return (kind, None if data is None else _digest(data))

    def differences(self, live: Request, recorded: Request, policy: MatchPolicy) -> list[str]:
        try:
            return self._differences(live, recorded, policy)
        except RecursionError:
            return ["body: differs (nested too deep to compare field by field)"]

    def _differences(self, live: Request, recorded: Request, policy: MatchPolicy) -> list[str]:
        if len(live.body) > DETAIL_LIMIT:  # its key is computed; parsing it again for a diff is not worth it
            return [f"body: {len(live.body)} bytes (recorded {len(recorded.body)} bytes), too large to compare"]
        (ka, a), (kb, b) = self.live_view(live, policy), self.view(recorded, policy)
        if (ka, a) == (kb, b):
            return []
        if ka == kb == "json" and is_chat(live):
            return chat_differences(a, b, _json_diff)
        if ka == kb == "json":
            return _json_diff(a, b, "body") or ["body: differs"]
        if ka == kb == "form":
            return _json_diff(dict(a), dict(b), "body") or ["body: differs"]
        size_a = 0 if a is None else len(a) if isinstance(a, bytes) else len(json.dumps(a))
        size_b = 0 if b is None else len(b) if isinstance(b, bytes) else len(json.dumps(b))
        return [f"body: {ka} of {size_a} bytes (recorded {kb} of {size_b} bytes)"]


def _digest(data: bytes) -> bytes:
    """hashlib releases the GIL on large inputs, so a big body hashed on a worker thread stalls nobody."""
    return hashlib.blake2b(data, digest_size=20).digest()


def _drop_fields(data: Any, ignored: frozenset[str]) -> Any:
    """Remove ignored fields: a plain name anywhere, or a dotted path from the root."""
    if not ignored:
        return data
    return _drop(data, ignored, "")


def _drop(data: Any, ignored: frozenset[str], prefix: str) -> Any:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if key in ignored or dotted in ignored:
                continue
            out[key] = _drop(value, ignored, dotted)
        return out
    if isinstance(data, list):
        return [_drop(item, ignored, prefix) for item in data]
    return data


def _json_diff(a: Any, b: Any, where: str, limit: int = 8) -> list[str]:
    """Leaf-level differences with dotted paths, e.g. `body.amount: 120 (recorded 100)`."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(dict.fromkeys([*b.keys(), *a.keys()])):
            sub = f"{where}.{key}"
            if key not in a:
                out.append(f"{sub}: missing (recorded {_show(b[key])})")
            elif key not in b:
                out.append(f"{sub}: {_show(a[key])} (not in the recording)")
            else:
                out.extend(_json_diff(a[key], b[key], sub, limit))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(_json_diff(x, y, f"{where}[{i}]", limit))
    elif a != b:
        out.append(f"{where}: {_show(a)} (recorded {_show(b)})")
    return out[:limit]


def matchers_for(policy: MatchPolicy) -> list[Matcher]:
    """The matchers for the policy's aspects, in canonical order."""
    out: list[Matcher] = []
    for name in policy.on:
        if name == "query":
            out.append(QueryMatcher())
        elif name == "path":
            out.append(PathMatcher())
        elif name == "body":
            out.append(BodyMatcher())
        else:
            out.append(_Simple(name, WEIGHTS[name]))
    return out
