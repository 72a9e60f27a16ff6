"""Learning each write's behaviour from its recordings: create, update (PATCH/PUT), delete, and the not-found
answer. Each function takes the samples the learner collected for one resource and returns one rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hudproxy.resources.bodies import NO_JSON, as_text, is_timestamp, json_type
from hudproxy.resources.model import ID_MARK, CreateRule, DeleteRule, FieldRole, NotFoundRule, UpdateRule
from hudproxy.resources.templates import Segments


@dataclass
class WriteSample:
    """One recorded 2xx write, with the item as the session would have known it before (`prior`)."""

    index: int
    status: int
    parent: Segments
    item_id: str | None
    request: Any  # JSON or NO_JSON (parsed only for the samples a rule is learned from)
    response: Any
    content_type: str
    location: str | None = None
    prior: dict[str, Any] | None = None
    raw: bytes = b""


def _most_common(values: list[int]) -> int:
    return max(set(values), key=lambda v: (values.count(v), -values.index(v)))


def required_fields(samples: list[WriteSample]) -> dict[str, str]:
    """Fields every recorded request had, with their JSON type: a request without one is not modelled."""
    bodies = [s.request for s in samples if isinstance(s.request, dict)]
    if not bodies:
        return {}
    common = set(bodies[0]).intersection(*bodies[1:])
    return {k: json_type(bodies[-1][k]) for k in bodies[-1] if k in common}


def learn_create(name: str, samples: list[WriteSample], id_field: str, item_path: Any) -> CreateRule:
    rule = CreateRule(f"{name}.create", [s.index for s in samples])
    rule.status = _most_common([s.status for s in samples])
    rule.content_type = samples[-1].content_type
    rule.required = required_fields(samples)
    roles: dict[str, FieldRole] = {}
    for sample in samples:
        request = sample.request if isinstance(sample.request, dict) else {}
        for key, value in sample.response.items():
            role = _create_role(key, value, request, sample, id_field)
            known = roles.get(key)
            roles[key] = role if known is None else _combine(known, role, key, rule)
    last = samples[-1].response
    rule.fields = {k: roles[k] for k in last if k in roles}
    rule.location = _location(samples, item_path)
    dropped = {k for s in samples if isinstance(s.request, dict) for k in s.request} - set(rule.fields)
    if dropped:
        rule.notes.append(f"request fields not echoed in the created item: {', '.join(sorted(dropped))}")
    return rule


def _create_role(key: str, value: Any, request: dict[str, Any], sample: WriteSample, id_field: str) -> FieldRole:
    if key == id_field:
        return FieldRole("id")
    if key in request and request[key] == value:
        return FieldRole("request")
    text = as_text(value)
    if text is not None and text in sample.parent:
        return FieldRole("parent", sample.parent.index(text))
    if is_timestamp(value):
        return FieldRole("timestamp", value)
    return FieldRole("request", value, has_default=True)  # a default the server filled; a client may send it


def _combine(known: FieldRole, new: FieldRole, key: str, rule: CreateRule) -> FieldRole:
    """Two recordings' views of one field: a request field with a default when it was sometimes absent."""
    if known.kind == new.kind:
        if known.has_default and new.has_default and known.value != new.value:
            rule.notes.append(f"field {key!r}: its default varied between recorded creates; the last one is used")
        return new if new.has_default or known.kind == "timestamp" else known
    rule.notes.append(f"field {key!r}: recorded creates disagree on where it comes from; the last one is used")
    return new


def _location(samples: list[WriteSample], item_path: Any) -> str | None:
    """The prefix before the item's path in `Location` ("" when relative), if every create sent one."""
    prefix = None
    for sample in samples:
        if sample.location is None or sample.item_id is None:
            return None
        path = item_path(sample.parent, sample.item_id)
        if not sample.location.endswith(path):
            return None
        prefix = sample.location[: -len(path)]
    return prefix


def learn_update(name: str, method: str, samples: list[WriteSample]) -> UpdateRule:
    semantics = "merge" if method == "PATCH" else "replace"
    rule = UpdateRule(f"{name}.{method.lower()}", [s.index for s in samples], method=method, semantics=semantics)
    rule.status = _most_common([s.status for s in samples])
    rule.returns_body = isinstance(samples[-1].response, dict)
    rule.content_type = samples[-1].content_type
    if method == "PUT":
        rule.required = required_fields(samples)
    confirmed = False
    for sample in samples:
        if sample.prior is None or not isinstance(sample.response, dict) or not isinstance(sample.request, dict):
            continue
        expected = {**sample.prior, **sample.request}
        for key, value in sample.response.items():
            if expected.get(key) != value and is_timestamp(value):
                rule.touched[key] = value
            elif expected.get(key) != value:
                rule.notes.append(f"field {key!r} changed in interaction {sample.index} beyond the request")
        confirmed = True
    if not confirmed:
        rule.notes.append(f"{semantics} assumed from the method: no recording shows the item before and after")
    return rule


def learn_delete(name: str, samples: list[WriteSample]) -> DeleteRule:
    rule = DeleteRule(f"{name}.delete", [s.index for s in samples])
    rule.status = _most_common([s.status for s in samples])
    rule.body = samples[-1].raw
    rule.content_type = samples[-1].content_type if rule.body else None
    return rule


def learn_not_found(name: str, samples: list[WriteSample]) -> NotFoundRule:
    """The recorded answer for a missing item; the missing id inside its strings becomes a placeholder."""
    last = samples[-1]
    rule = NotFoundRule(f"{name}.not-found", [s.index for s in samples], status=last.status)
    rule.content_type = last.content_type
    if last.response is NO_JSON:
        rule.body = last.raw
    else:
        rule.body = _mark_id(last.response, last.item_id or "")
    return rule


def _mark_id(data: Any, item_id: str) -> Any:
    if isinstance(data, str) and item_id:
        return re.sub(rf"(?<![A-Za-z0-9]){re.escape(item_id)}(?![A-Za-z0-9])", ID_MARK, data)
    if isinstance(data, dict):
        return {k: _mark_id(v, item_id) for k, v in data.items()}
    if isinstance(data, list):
        return [_mark_id(v, item_id) for v in data]
    return data
