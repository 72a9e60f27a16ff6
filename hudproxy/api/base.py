"""The session surface: where a session's requests go and assertions over the calls it made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hudproxy.api.common import SESSION_HEADER, SpecLike, as_spec, plainly
from hudproxy.journal.assertions import (
    CallSpec,
    assert_called,
    assert_called_before,
    assert_not_called,
    assert_not_retried,
    assert_retried,
    tool_spec,
)
from hudproxy.journal.query import Call, CallList, PathPattern


class BaseSession:
    """Where a session's requests go, and assertions over the calls it made (oldest first)."""

    def __init__(self, session_id: str, base_url: str) -> None:
        self.id = session_id
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.base_url}>"

    @property
    def headers(self) -> dict[str, str]:
        """The header form of the session, for clients that must keep the server's root URL."""
        return {SESSION_HEADER: self.id}

    def _read(self) -> CallList:
        """Every call of this session since it (re)started, oldest first."""
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def calls(
        self, method: str | None = None, path: PathPattern | None = None, *, unmatched: bool | None = None
    ) -> CallList:
        """This session's calls, filtered by method, path (glob or compiled regex) and matched-ness (`unmatched`:
        the misses; a call the resource model answered under `generalise=True` is no miss)."""
        spec = CallSpec(method, path)
        keep = (c for c in self._read() if spec.matches(c))
        return CallList(c for c in keep if unmatched is None or c.missed is unmatched)

    def unmatched(self) -> CallList:
        """Calls the cassette had no answer for; each `Call.diagnosis` lists the nearest recordings and diffs."""
        return self.calls(unmatched=True)

    def assert_called(
        self,
        method: str | None = None,
        path: PathPattern | None = None,
        *,
        json: Any = None,
        json_contains: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        where: Callable[[Call], bool] | None = None,
        times: int | None = None,
        answered_by: str | None = None,
    ) -> list[Call]:
        """At least one (or exactly `times`) matching call; returns the matching calls. `answered_by`:
        `recording`, `model` (synthesized under `generalise=True`) or `miss`."""
        __tracebackhide__ = True
        spec = CallSpec(method, path, json, json_contains, query, where, answered_by)
        return plainly(lambda: assert_called(self._read(), spec, times))

    def assert_not_called(
        self,
        method: str | None = None,
        path: PathPattern | None = None,
        *,
        json: Any = None,
        json_contains: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        where: Callable[[Call], bool] | None = None,
        answered_by: str | None = None,
    ) -> None:
        __tracebackhide__ = True
        spec = CallSpec(method, path, json, json_contains, query, where, answered_by)
        plainly(lambda: assert_not_called(self._read(), spec))

    def assert_called_before(self, first: SpecLike, then: SpecLike) -> None:
        """A call matching `first` came before every call matching `then`: `(method, path)` or a CallSpec."""
        __tracebackhide__ = True
        plainly(lambda: assert_called_before(self._read(), as_spec(first), as_spec(then)))

    def assert_retried(
        self, method: str | None = None, path: PathPattern | None = None, *, after: int = 429, max_attempts: int = 3
    ) -> list[Call]:
        """The matching call got `after` (e.g. an injected 429) and was retried, getting through in at most
        `max_attempts` attempts; returns the attempts."""
        __tracebackhide__ = True
        spec = CallSpec(method, path)
        return plainly(lambda: assert_retried(self._read(), spec, after=after, max_attempts=max_attempts))

    def assert_not_retried(self, method: str | None = "POST", path: PathPattern | None = None) -> None:
        """No matching write (default: every POST) was sent again after an attempt that got no answer or a 5xx."""
        __tracebackhide__ = True
        plainly(lambda: assert_not_retried(self._read(), CallSpec(method, path)))

    def tool_calls(self, name: str | None = None) -> CallList:
        """This session's MCP tool calls (all, or of one tool); `Call.json` holds the arguments."""
        return CallList(c for c in self._read() if tool_spec(name).matches(c))

    def assert_tool_called(self, name: str, *, times: int | None = None, **arguments: Any) -> list[Call]:
        """`assert_tool_called("charge_card", amount=100)`: the arguments given must be among the call's."""
        __tracebackhide__ = True
        return plainly(lambda: assert_called(self._read(), tool_spec(name, arguments), times))

    def assert_tool_not_called(self, name: str, **arguments: Any) -> None:
        __tracebackhide__ = True
        plainly(lambda: assert_not_called(self._read(), tool_spec(name, arguments)))
