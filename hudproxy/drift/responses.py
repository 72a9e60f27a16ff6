"""Compare a recorded answer with a live one: status, the headers a client acts on, and the body field by field.

Both sides are compared as the cassette would store them (scrubbed by the cassette's policy, bodies decoded), so
a secret that is the same on both sides compares equal, and gzip on one side only is no difference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from hudproxy.drift.jsondiff import Change, ChangeKind, diff_json
from hudproxy.drift.volatile import Volatile
from hudproxy.interaction.body import as_text, content_encoding, decode_body, parse_json
from hudproxy.interaction.model import Response

# headers a client acts on; the rest (Date, Server, caching, tracing) change without breaking anyone
MATTERING_HEADERS = (
    "content-type", "location", "www-authenticate", "allow", "content-disposition", "content-language",
)  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """A response as compared: its status, the mattering headers (lower-case names), the body as JSON data or
    text (a binary body as its size and digest)."""

    status: int
    headers: dict[str, str]
    is_json: bool
    body: Any


def answer_of(response: Response) -> Answer:
    headers: dict[str, str] = {}
    for name, value in response.headers:
        lowered = name.lower()
        if lowered in MATTERING_HEADERS and lowered not in headers:
            headers[lowered] = value.strip()
    decoded = decode_body(response.body, content_encoding(response.headers))
    if decoded is None:
        decoded = response.body
    is_json, data = parse_json(decoded, headers.get("content-type"))
    if is_json:
        return Answer(response.status, headers, True, data)
    text = as_text(decoded)
    if text is None:
        text = f"<{len(decoded)} bytes, sha256 {hashlib.sha256(decoded).hexdigest()[:16]}>"
    return Answer(response.status, headers, False, text)


@dataclass(frozen=True)
class HeaderChange:
    name: str
    before: str | None
    after: str | None
    breaking: bool = False

    def describe(self) -> str:
        if self.before is None:
            return f"+ header {self.name}: {self.after}"
        if self.after is None:
            return f"- header {self.name} (was {self.before})"
        return f"~ header {self.name}: {self.before} -> {self.after}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after, "breaking": self.breaking}


@dataclass
class ResponseDrift:
    """What changed between the recorded and the live answer (volatile differences only counted)."""

    status_before: int
    status_after: int
    headers: list[HeaderChange] = field(default_factory=list)
    body: list[Change] = field(default_factory=list)
    ignored: int = 0

    @property
    def status_breaking(self) -> bool:
        """2xx -> 4xx breaks a client; 200 -> 201 does not."""
        return self.status_before // 100 != self.status_after // 100

    @property
    def drifted(self) -> bool:
        return self.status_before != self.status_after or bool(self.headers) or bool(self.body)

    @property
    def breaking(self) -> bool:
        return self.status_breaking or any(h.breaking for h in self.headers) or any(c.breaking for c in self.body)

    def lines(self) -> list[str]:
        """One line per change, breaking ones first, for the table."""
        out = []
        if self.status_before != self.status_after:
            out.append(f"~ status {self.status_before} -> {self.status_after}")
        out += [h.describe() for h in self.headers] + [c.describe() for c in self.body]
        return out


NOTHING_VOLATILE = Volatile()


def compare_answers(recorded: Answer, live: Answer, volatile: Volatile = NOTHING_VOLATILE) -> ResponseDrift:
    drift = ResponseDrift(recorded.status, live.status)
    for name in sorted(set(recorded.headers) | set(live.headers)):
        before, after = recorded.headers.get(name), live.headers.get(name)
        if _normal(name, before) == _normal(name, after):
            continue
        if name in volatile.headers:
            drift.ignored += 1
            continue
        breaking = name == "content-type" and _media(before) != _media(after)  # JSON became HTML
        drift.headers.append(HeaderChange(name, before, after, breaking))
    if recorded.is_json != live.is_json:
        drift.body.append(_whole_body_changed(recorded, live))
        return drift
    found = diff_json(recorded.body, live.body, volatile.pointers)
    drift.body, drift.ignored = found.changes, drift.ignored + found.ignored
    return drift


def _whole_body_changed(recorded: Answer, live: Answer) -> Change:
    """A body that was empty gained content (a client ignored it: not breaking); one that held JSON is gone, or
    JSON became an HTML error page or the other way round (breaking)."""
    if recorded.body == "":
        return Change((), ChangeKind.ADDED, None, live.body)
    if live.body == "":
        return Change((), ChangeKind.REMOVED, recorded.body, None, breaking=True)
    return Change((), ChangeKind.TYPE_CHANGED, recorded.body, live.body, breaking=True)


def _normal(name: str, value: str | None) -> str | None:
    if value is None or name != "content-type":
        return value
    return ";".join(part.strip() for part in value.lower().split(";"))


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()
