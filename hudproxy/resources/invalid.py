"""The answer to a write whose body breaks the OpenAPI schema (`--openapi FILE`): in the API's own recorded
validation-error style when the cassette has one for the resource (its status, and its body with the field,
message and offending value put in where the recording had them), else a compact 422 naming each field and what
is wrong.

The style is learned by checking the recorded rejected request against the same schema: the recorded answer's
string equal to the field the schema blames marks where a field name goes (alone, or last in a `loc`-like list),
a message-like key where the message goes, a value equal to the rejected value or body where those go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hudproxy.resources.model import Rule
from hudproxy.resources.schemas import BodyValidator, Problem

FIELD, MESSAGE, VALUE = "\x00field\x00", "\x00message\x00", "\x00value\x00"
MESSAGE_KEYS = ("msg", "message", "detail", "description", "error_description", "reason")


@dataclass
class InvalidRule(Rule):
    status: int = 422
    content_type: str = "application/json"
    envelope: Any = None  # the recorded body, its error list holding VALUE... (None: the compact answer)
    list_path: list[str] = field(default_factory=list)  # where in the envelope the error list is ([]: no list)
    entry: Any = None  # one recorded error with FIELD, MESSAGE, VALUE marked

    def to_dict(self) -> dict[str, Any]:
        """As every rule, with the marks shown as `{field}`, `{message}`, `{value}`."""
        return _shown_marks(super().to_dict())

    def describe(self) -> str:
        style = "in the recorded validation-error style" if self.entry is not None else "with a compact JSON error"
        return f"a body that breaks the OpenAPI schema → {self.status} {style}, naming each field"


@dataclass
class Rejected:
    """One recorded 4xx answer to a write: the request body and the answer."""

    index: int
    method: str
    status: int
    request: Any
    response: Any
    content_type: str


def _shown_marks(data: Any) -> Any:
    if isinstance(data, str):
        return data.replace(FIELD, "{field}").replace(MESSAGE, "{message}").replace(VALUE, "{value}")
    if isinstance(data, dict):
        return {k: _shown_marks(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_shown_marks(v) for v in data]
    return data


def learn_invalid(name: str, validators: dict[str, BodyValidator], rejected: list[Rejected]) -> InvalidRule:
    """The validation rule: the recorded style where a recorded rejection shows the field the schema blames."""
    rule = InvalidRule(f"{name}.invalid")
    rule.notes.append("request bodies are checked against the OpenAPI document's schema")
    for sample in reversed(rejected):
        validator = validators.get(sample.method)
        problems = validator.problems(sample.request) if validator is not None else []
        if not problems or not isinstance(sample.response, dict | list):
            continue
        found = _style(sample.response, problems[0])
        if found is None:
            continue
        rule.envelope, rule.list_path, rule.entry = found
        rule.status, rule.content_type, rule.evidence = sample.status, sample.content_type, [sample.index]
        return rule
    if rejected:
        rule.notes.append("no recorded rejection names a field the schema blames: the compact answer is used")
    return rule


def _style(body: Any, problem: Problem) -> tuple[Any, list[str], Any] | None:
    """(the envelope, the path to its error list, one marked error), or None when no field slot is found."""
    path, errors = _error_list(body, [])
    if errors:
        entry = _mark(errors[0], problem)
        return (body, path, entry) if _has(entry, FIELD) else None
    entry = _mark(body, problem)
    return (None, [], entry) if _has(entry, FIELD) else None


def _error_list(body: Any, path: list[str]) -> tuple[list[str], list[Any] | None]:
    if isinstance(body, list) and body and all(isinstance(x, dict) for x in body):
        return path, body
    if isinstance(body, dict):
        for key, value in body.items():
            found = _error_list(value, [*path, key])
            if found[1]:
                return found
    return path, None


def _mark(data: Any, problem: Problem, key: str = "") -> Any:
    leaf = problem.field.rpartition(".")[2]
    if isinstance(data, str):
        if data in (problem.field, leaf):
            return FIELD
        return MESSAGE if key.lower() in MESSAGE_KEYS else data
    if isinstance(data, list) and data and data[-1] in (problem.field, leaf):
        return [*data[:-1], FIELD]
    if isinstance(data, dict):
        return {k: (VALUE if k.lower() in ("input", "value") else _mark(v, problem, k)) for k, v in data.items()}
    return data


def _has(data: Any, mark: str) -> bool:
    if data == mark:
        return True
    if isinstance(data, dict):
        return any(_has(v, mark) for v in data.values())
    if isinstance(data, list):
        return any(_has(v, mark) for v in data)
    return False


def invalid_body(rule: InvalidRule, problems: list[Problem]) -> Any:
    """The answer's body for these problems (each named; the recorded style when one was learned)."""
    if rule.entry is None:
        return {"error": "validation_failed",
                "errors": [{"field": p.field, "problem": p.problem} for p in problems]}  # fmt: skip
    entries = [_fill(rule.entry, p) for p in problems]
    if not rule.list_path and rule.envelope is None:
        return entries[0]
    body = rule.envelope
    return _put(body, rule.list_path, entries)


def _fill(data: Any, problem: Problem) -> Any:
    if data == FIELD:
        return problem.field.rpartition(".")[2]
    if data == MESSAGE:
        return f"{problem.field} {problem.problem}"
    if data == VALUE:
        return problem.value
    if isinstance(data, list):
        return [_fill(v, problem) for v in data]
    if isinstance(data, dict):
        return {k: _fill(v, problem) for k, v in data.items()}
    return data


def _put(body: Any, path: list[str], entries: list[Any]) -> Any:
    if not path:
        return entries
    return {k: (_put(v, path[1:], entries) if k == path[0] else v) for k, v in body.items()}
