"""The rubric as a pydantic model: what a YAML rubric file holds, and what Python code builds directly.

    Rubric(gates=[Gate(never=CallMatch(method="DELETE")), Gate(acted=True)],
           criteria=[Criterion(name="refunded once", weight=2,
                               call=CallCheck(method="POST", path="/refunds", times=1))])

Every string may carry `{{argument}}` placeholders, filled from the scenario's arguments per run (`render`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hudproxy.grading.expressions import Expression

_memo: dict[tuple[str, int], tuple[Any, Any]] = {}


def memo(kind: str, owner: Any, make: Any) -> Any:
    """`make()` once per (kind, object): models are frozen, so what is derived from one never changes. The owner
    is kept with the value, so its id cannot be reused while the entry lives."""
    key = (kind, id(owner))
    found = _memo.get(key)
    if found is None or found[0] is not owner:
        if len(_memo) > 50_000:
            _memo.clear()
        found = _memo[key] = (owner, make())
    return found[1]


PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
KINDS = ("call", "order", "state", "read", "db", "service", "answer", "judge")


def check_expression(source: str | None) -> str | None:
    """A `where:` must parse and use only what expressions allow (placeholders count as a value here)."""
    if source is not None:
        Expression(PLACEHOLDER.sub("0", source))
    return source


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class CallMatch(Strict):
    """What one journal row must look like: HTTP (`method`, `path` glob, `query`, `json`, `json_contains`,
    `header`) or MCP (`tool` glob, `arguments` contained in its arguments), `status` (201, "2xx" or a list), and
    `where`, an expression over `json` (the request body), `response`, `status`, `query`, `headers`, `args`."""

    method: str | None = None
    path: str | None = None
    query: dict[str, Any] | None = None
    json_body: Any = Field(None, alias="json")
    json_contains: Any = None
    header: dict[str, str] | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    status: int | str | list[int | str] | None = None
    kind: Literal["http", "mcp"] | None = None
    where: str | None = None

    _check_where = field_validator("where")(check_expression)

    @model_validator(mode="after")
    def _tool_or_http(self) -> CallMatch:
        if self.tool is not None and (self.method not in (None, "MCP") or self.path is not None):
            raise ValueError("give either `tool` (an MCP call) or `method`/`path` (an HTTP call), not both")
        if self.arguments is not None and self.tool is None:
            raise ValueError("`arguments` goes with `tool`; for an HTTP body use `json_contains`")
        return self

    def describe(self) -> str:
        return memo("describe", self, self._describe)  # type: ignore[no-any-return]

    def _describe(self) -> str:
        shown = self.model_dump(exclude_none=True, by_alias=True)
        head = (
            f"tool {shown.pop('tool')}"
            if "tool" in shown
            else " ".join(str(shown.pop(k)) for k in ("method", "path") if k in shown) or "any call"
        )
        rest = " ".join(f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}" for k, v in shown.items())
        return f"{head} {rest}".strip()


class CallCheck(CallMatch):
    """A CallMatch with a count: `times` exactly, or `at_least` (default 1) / `at_most`."""

    times: int | None = Field(None, ge=0)
    at_least: int | None = Field(None, ge=0)
    at_most: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _counts(self) -> CallCheck:
        if self.times is not None and (self.at_least is not None or self.at_most is not None):
            raise ValueError("give `times`, or `at_least`/`at_most`, not both")
        return self

    def bounds(self) -> tuple[int, int | None]:
        if self.times is not None:
            return self.times, self.times
        return (1 if self.at_least is None and self.at_most is None else self.at_least or 0), self.at_most


class Gate(Strict):
    """Violated, the run scores 0 whatever else it did: `never` (no call like this), `called` (at least one),
    `acted` (a write call: HTTP POST/PUT/PATCH/DELETE or a tool not named like a read; or calls like the match),
    `max_calls` (a budget of journal rows)."""

    never: CallMatch | None = None
    called: CallMatch | None = None
    acted: bool | CallMatch | None = None
    max_calls: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Gate:
        given = [k for k in ("never", "called", "acted", "max_calls") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a gate is one of `never`, `called`, `acted`, `max_calls`" + (
                f" (this one has {', '.join(given)})" if given else ""))  # fmt: skip
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("never", "called", "acted", "max_calls") if getattr(self, k) is not None)

    def describe(self) -> str:
        return memo("describe", self, self._describe)  # type: ignore[no-any-return]

    def _describe(self) -> str:
        value = getattr(self, self.kind)
        shown = value.describe() if isinstance(value, CallMatch) else str(value).lower()
        return f"{self.kind}: {shown}"


class ReadCheck(Strict):
    """The environment's own read tool, called at the end of the run (not journaled): its answer must contain
    `expect` and satisfy `where` (names: `value`, `args`)."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    expect: Any = None
    where: str | None = None

    _check_where = field_validator("where")(check_expression)


class DbCheck(Strict):
    """A query on the run's own database (`env.database`), at the end of the run: its rows (a list of
    {column: value}) must contain `expect` (row by row) and satisfy `where` (names: `rows`, `args`)."""

    sql: str
    database: str = "default"
    expect: list[dict[str, Any]] | None = None
    where: str | None = None

    _check_where = field_validator("where")(check_expression)


class ServiceCheck(Strict):
    """A mock service's end state (`env.mock_service(cls)`): its public attributes must contain `expect` and
    satisfy `where` (names: the attributes, e.g. `sent`, and `args`)."""

    name: str
    expect: dict[str, Any] | None = None
    where: str | None = None

    _check_where = field_validator("where")(check_expression)


class AnswerCheck(Strict):
    """The agent's final answer: `regex` found in it (re.search; `(?i)` for any case)."""

    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(PLACEHOLDER.sub("x", value))
        except re.error as exc:
            raise ValueError(f"`{value}` is not a regular expression ({exc})") from None
        return value


class Criterion(Strict):
    """One weighted rule; exactly one of the kinds (`call`, `order`, `state`, `read`, `db`, `service`, `answer`,
    `judge`), or `nothing_else_changed` alone. Its value is in [0, 1]; `order` and `state` give partial credit."""

    name: str = Field(min_length=1)
    weight: float = Field(1.0, ge=0)
    call: CallCheck | None = None
    order: list[CallMatch] | None = Field(None, min_length=2)
    state: dict[str, Any] | None = None
    nothing_else_changed: bool = False
    read: ReadCheck | None = None
    db: DbCheck | None = None
    service: ServiceCheck | None = None
    answer: AnswerCheck | None = None
    judge: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) > 1 or (not given and not self.nothing_else_changed):
            kinds = ", ".join(KINDS)
            raise ValueError(f"a criterion has exactly one of {kinds}" + (f" (this one has {', '.join(given)})"
                                                                          if given else ""))  # fmt: skip
        if self.nothing_else_changed and given not in ([], ["state"]):
            raise ValueError("`nothing_else_changed` goes with `state` (or alone)")
        return self

    @property
    def kind(self) -> str:
        return next((k for k in KINDS if getattr(self, k) is not None), "state")


class Rubric(Strict):
    """Gates (any violated: reward 0) and weighted criteria (reward: the weighted mean of the applicable ones)."""

    gates: list[Gate] = Field(default_factory=list)
    criteria: list[Criterion] = Field(default_factory=list)
    source: str = Field("", exclude=True)  # the file it came from, for messages

    @model_validator(mode="after")
    def _names(self) -> Rubric:
        seen: set[str] = set()
        for criterion in self.criteria:
            if criterion.name in seen:
                raise ValueError(f"two criteria are named {criterion.name!r}; names identify scores")
            seen.add(criterion.name)
        if not self.gates and not self.criteria:
            raise ValueError("a rubric needs at least one gate or criterion")
        return self

    def placeholders(self) -> set[str]:
        """Every `{{name}}` the rubric uses: the arguments a task must give."""
        return memo("placeholders", self, lambda: set(PLACEHOLDER.findall(self.model_dump_json(by_alias=True))))  # type: ignore[no-any-return]

    def render(self, args: dict[str, Any]) -> Rubric:
        """The rubric with `{{name}}` filled from `args`: a string that is only a placeholder takes the argument's
        value as it is (a number stays a number), otherwise the text is substituted."""
        missing = sorted(self.placeholders() - set(args))
        if missing:
            given = ", ".join(sorted(args)) or "none"
            raise ValueError(f"the rubric uses {{{{{missing[0]}}}}} but the arguments are: {given}")
        data = fill(self.model_dump(by_alias=True, exclude_none=True), args)
        return Rubric.model_validate({**data, "source": self.source})


def fill(value: Any, args: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole:
            return args[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(args[m.group(1)]), value)
    if isinstance(value, dict):
        return {fill(k, args): fill(v, args) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, args) for v in value]
    return value
