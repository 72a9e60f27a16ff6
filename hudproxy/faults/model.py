"""The faults file as data (pydantic v2): which calls a rule matches, when it fires, and what goes wrong.

    seed: 7
    rules:
      - name: orders-throttled
        match: {method: POST, path: /orders}      # or {tool: create_order} for an MCP tool call
        nth: [1, 2]                                 # or probability: 0.25; neither: every matching call
        times: 2                                    # at most this many faults from this rule per session
        latency: {distribution: uniform, min_ms: 50, max_ms: 300}   # or a number of milliseconds
        fault: {kind: status, status: 429, headers: {Retry-After: "1"}}

Fault kinds: status (with headers and a body), reset (the connection drops before the answer), cut (a stream
dropped after N chunks), stall (a stream that hangs after N chunks), truncate / malformed (a broken JSON body),
tool_error (an MCP tool answering `isError`), timeout (no answer at all).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(Strict):
    """HTTP calls by method and path glob (`*` within a segment, `**` across), or MCP tool calls by tool name."""

    method: str | list[str] | None = Field(None, description="GET, [POST, PUT] ...; any when absent")
    path: str | None = Field(None, description="a glob on the path (no query): /orders/*, /api/**")
    tool: str | None = Field(None, description="an MCP tool name (a glob); the rule then matches MCP tool calls only")

    @model_validator(mode="after")
    def _one_protocol(self) -> Match:
        if self.tool is not None and (self.method is not None or self.path is not None):
            raise ValueError("match either an MCP tool (`tool`) or HTTP calls (`method`/`path`), not both")
        return self

    @property
    def methods(self) -> frozenset[str] | None:
        if self.method is None:
            return None
        return frozenset(m.upper() for m in ([self.method] if isinstance(self.method, str) else self.method))


class FixedLatency(Strict):
    distribution: Literal["fixed"] = "fixed"
    ms: float = Field(ge=0)

    def sample(self, u: float) -> float:
        return self.ms


class UniformLatency(Strict):
    distribution: Literal["uniform"]
    min_ms: float = Field(ge=0)
    max_ms: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformLatency:
        if self.max_ms < self.min_ms:
            raise ValueError(f"max_ms {self.max_ms:g} is below min_ms {self.min_ms:g}")
        return self

    def sample(self, u: float) -> float:
        return self.min_ms + (self.max_ms - self.min_ms) * u


class NormalLatency(Strict):
    distribution: Literal["normal"]
    mean_ms: float = Field(ge=0)
    stddev_ms: float = Field(gt=0)

    def sample(self, u: float) -> float:
        return max(0.0, NormalDist(self.mean_ms, self.stddev_ms).inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))


class ExponentialLatency(Strict):
    distribution: Literal["exponential"]
    mean_ms: float = Field(gt=0)

    def sample(self, u: float) -> float:
        return -self.mean_ms * math.log(1.0 - min(u, 1 - 1e-12))


Latency = Annotated[
    FixedLatency | UniformLatency | NormalLatency | ExponentialLatency, Field(discriminator="distribution")
]


class StatusFault(Strict):
    """Answer this status instead of the recording (the call never reaches the recorded world: state unchanged)."""

    kind: Literal["status"]
    status: int = Field(ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = Field(None, description="JSON when not a string; a default")


class ResetFault(Strict):
    """The connection drops before any answer (the call is not processed: state unchanged)."""

    kind: Literal["reset"]


class CutFault(Strict):
    """The recorded answer starts, then the connection drops after `after_chunks` body chunks."""

    kind: Literal["cut"]
    after_chunks: int = Field(0, ge=0)


class StallFault(Strict):
    """The recorded answer starts, then hangs after `after_chunks` chunks for `seconds` (or until the client
    leaves), then the connection drops."""

    kind: Literal["stall"]
    after_chunks: int = Field(0, ge=0)
    seconds: float = Field(300.0, gt=0)


class TruncateFault(Strict):
    """The recorded body cut to its first `keep` fraction (a whole HTTP message carrying broken JSON)."""

    kind: Literal["truncate"]
    keep: float = Field(0.5, ge=0, lt=1)


class MalformedFault(Strict):
    """The recorded body with bytes no JSON parser accepts after it."""

    kind: Literal["malformed"]


class ToolErrorFault(Strict):
    """An MCP tool call answered `isError: true` with this text (not processed: state unchanged)."""

    kind: Literal["tool_error"]
    message: str = "the tool failed (injected by hudproxy)"


class TimeoutFault(Strict):
    """No answer at all: the call hangs for `seconds` (or until the client gives up), then the connection drops."""

    kind: Literal["timeout"]
    seconds: float = Field(300.0, gt=0)


Fault = Annotated[
    StatusFault | ResetFault | CutFault | StallFault | TruncateFault | MalformedFault | ToolErrorFault | TimeoutFault,
    Field(discriminator="kind"),
]
TOOL_FAULTS = frozenset({"tool_error", "timeout"})  # what a `match: {tool: ...}` rule may do (besides latency)
# Faults that replace the answer before replay looks for it: the call does not count as processed.
BEFORE_ANSWER = frozenset({"status", "reset", "tool_error", "timeout"})


class Rule(Strict):
    name: str | None = Field(None, description="shown in the journal; `rule-<n>` (1-based) when absent")
    match: Match = Field(default_factory=Match)
    nth: int | list[int] | None = Field(None, description="fire on the Nth matching call(s) of a session, 1-based")
    probability: float | None = Field(None, ge=0, le=1, description="fire on each matching call with this chance")
    times: int | None = Field(None, ge=1, description="at most this many faults from this rule per session")
    latency: Latency | None = Field(None, description="milliseconds added (a number), or a distribution")
    fault: Fault | None = None

    @field_validator("latency", mode="before")
    @classmethod
    def _fixed(cls, value: Any) -> Any:
        """`latency: 250` is `{distribution: fixed, ms: 250}`."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"distribution": "fixed", "ms": value}
        return value

    @field_validator("nth")
    @classmethod
    def _positive(cls, value: int | list[int] | None) -> int | list[int] | None:
        for n in [value] if isinstance(value, int) else value or []:
            if n < 1:
                raise ValueError(f"nth counts calls from 1, not {n}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        if self.nth is not None and self.probability is not None:
            raise ValueError("give `nth` or `probability`, not both")
        if self.latency is None and self.fault is None:
            raise ValueError("a rule needs a `fault`, a `latency` or both")
        kind = self.fault.kind if self.fault is not None else None
        if kind == "tool_error" and self.match.tool is None:
            raise ValueError("a tool_error fault needs `match: {tool: NAME}` (it answers MCP tool calls)")
        if kind is not None and self.match.tool is not None and kind not in TOOL_FAULTS:
            raise ValueError(f"an MCP tool call takes a tool_error or timeout fault (or latency), not {kind}")
        return self

    @property
    def nths(self) -> frozenset[int] | None:
        return None if self.nth is None else frozenset([self.nth] if isinstance(self.nth, int) else self.nth)


class FaultsFile(Strict):
    name: str | None = Field(None, description="a label for reports: an eval groups runs by scenario and this")
    seed: int = Field(0, description="with the session id, rule and call number, fixes every random choice")
    rules: list[Rule] = Field(default_factory=list)
