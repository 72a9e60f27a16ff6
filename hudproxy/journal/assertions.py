"""Assertions over a session's calls; a failure says what was expected and lists the calls made, nearest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hudproxy.journal.query import Call, PathPattern, path_matches


@dataclass(frozen=True)
class CallSpec:
    """What a call must look like. Every given part must hold."""

    method: str | None = None
    path: PathPattern | None = None
    json: Any = None
    json_contains: dict[str, Any] | None = None
    query: dict[str, str] | None = None
    where: Callable[[Call], bool] | None = None
    answered_by: str | None = None  # recording | model | miss (see `Call.answered_by`)

    def describe(self) -> str:
        parts = [self.method or "*", str(getattr(self.path, "pattern", self.path) or "*")]
        if self.json is not None:
            parts.append(f"json={self.json!r}")
        if self.json_contains is not None:
            parts.append(f"json_contains={self.json_contains!r}")
        if self.query is not None:
            parts.append(f"query={self.query!r}")
        if self.where is not None:
            parts.append(f"where={getattr(self.where, '__name__', 'predicate')}")
        if self.answered_by is not None:
            parts.append(f"answered_by={self.answered_by}")
        return " ".join(parts)

    def mismatches(self, call: Call) -> int:
        """How many parts of the spec this call fails (0 = it matches); orders calls nearest first."""
        failed = 0
        if self.method is not None and call.method.upper() != self.method.upper():
            failed += 1
        if not path_matches(self.path, call.path):
            failed += 2
        if self.json is not None and call.json != self.json:
            failed += 1
        if self.json_contains is not None and not contains(call.json, self.json_contains):
            failed += 1
        if self.query is not None and any(call.params.get(k) != str(v) for k, v in self.query.items()):
            failed += 1
        if self.where is not None and not self.where(call):
            failed += 1
        if self.answered_by is not None and call.answered_by != self.answered_by:
            failed += 1
        return failed

    def matches(self, call: Call) -> bool:
        return self.mismatches(call) == 0


def tool_spec(name: str | None = None, arguments: dict[str, Any] | None = None) -> CallSpec:
    """An MCP tool call (journaled as `MCP /tools/call/<name>` with the arguments as its JSON body)."""
    path = f"/tools/call/{quote(name, safe='')}" if name else "/tools/call/*"
    return CallSpec("MCP", path, json_contains=arguments or None)


def contains(actual: Any, expected: Any) -> bool:
    """Partial JSON match: every key in `expected` is in `actual` with a (recursively) contained value."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(contains, actual, expected))
    return actual == expected


def failure(message: str, spec: CallSpec, calls: Sequence[Call]) -> AssertionError:
    nearest = sorted(calls, key=lambda c: (spec.mismatches(c), c.seq))
    lines = [message, f"  expected: {spec.describe()}", f"  calls made ({len(calls)}), nearest first:"]
    lines.extend(f"    {c.describe()}" for c in nearest[:10])
    if len(calls) > 10:
        lines.append(f"    ... and {len(calls) - 10} more")
    if not calls:
        lines.append("    (none)")
    return AssertionError("\n".join(lines))


def assert_called(calls: Sequence[Call], spec: CallSpec, times: int | None = None) -> list[Call]:
    found = [c for c in calls if spec.matches(c)]
    if times is None and not found:
        raise failure("expected a call that was not made", spec, calls)
    if times is not None and len(found) != times:
        raise failure(f"expected {times} matching call(s), found {len(found)}", spec, calls)
    return found


def assert_not_called(calls: Sequence[Call], spec: CallSpec) -> None:
    found = [c for c in calls if spec.matches(c)]
    if found:
        raise failure(f"expected no matching call, found {len(found)}", spec, found)


def assert_called_before(calls: Sequence[Call], first: CallSpec, then: CallSpec) -> None:
    """Some call matching `first` happened before every call matching `then` (and both happened)."""
    a = [c.seq for c in calls if first.matches(c)]
    b = [c.seq for c in calls if then.matches(c)]
    if not a:
        raise failure("expected an earlier call that was not made", first, calls)
    if not b:
        raise failure("expected a later call that was not made", then, calls)
    if min(a) > min(b):
        raise failure(f"expected {first.describe()} before {then.describe()}, but it came after", then, calls)


def no_answer_or_server_error(call: Call) -> bool:
    """The client cannot know whether the write happened: the connection dropped (status 0) or a 5xx."""
    return call.status == 0 or call.status >= 500


def assert_retried(calls: Sequence[Call], spec: CallSpec, *, after: int = 429, max_attempts: int = 3) -> list[Call]:
    """The call matching `spec` got status `after` (an injected 429, a 503 ...), was sent again, and got through
    in at most `max_attempts` attempts in all; returns the attempts."""
    attempts = [c for c in calls if spec.matches(c)]
    if not attempts:
        raise failure("expected a call that was not made", spec, calls)
    refused = [n for n, c in enumerate(attempts) if c.status == after]
    if not refused:
        raise failure(f"expected a {after} answer to retry after; no matching call got one", spec, attempts)
    if refused[0] == len(attempts) - 1:
        raise failure(f"expected a retry after the {after} (#{attempts[-1].seq}); none came", spec, attempts)
    if len(attempts) > max_attempts:
        raise failure(f"expected at most {max_attempts} attempts, found {len(attempts)}", spec, attempts)
    last = attempts[-1]
    if last.status == after or no_answer_or_server_error(last):
        raise failure(f"expected the last attempt to get through, it got {last.status or 'no answer'}", spec, attempts)
    return attempts


def assert_not_retried(
    calls: Sequence[Call], spec: CallSpec | None = None, failed: Callable[[Call], bool] = no_answer_or_server_error
) -> None:
    """No request matching `spec` (default: every POST) was sent again, same path, query and body, after an
    attempt that `failed` (default: no answer or a 5xx, where the client cannot know whether it happened): a
    non-idempotent write is not repeated blindly."""
    spec = spec if spec is not None else CallSpec(method="POST")
    failed_once: dict[tuple[str, str, str, str | None], Call] = {}
    for call in calls:
        if not spec.matches(call):
            continue
        key = (call.method.upper(), call.path, call.query, call.request_body)
        first = failed_once.get(key)
        if first is not None:
            shown = first.status or "no answer"
            raise failure(f"expected no retry of a failed {call.method}: #{first.seq} ({shown}) was sent again as "
                          f"#{call.seq}", spec, [first, call])  # fmt: skip
        if failed(call):
            failed_once[key] = call
