"""An OpenAPI document's operations and schemas (`--openapi FILE`): the request body each write must fit (checked
by `jsonschema` through openapi-schema-validator, never by hand), the fields a server sets (readOnly properties,
defaults), and the statuses each operation answers. Paths are keyed by their template tokens (a `{param}` segment
is None), as `hudproxy.resources.templates` keys them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hudproxy.resources.templates import Tokens, segments_of

METHODS = ("get", "put", "post", "patch", "delete")
FIXED_TIME = "2000-01-01T00:00:00Z"  # a server timestamp the recording never showed: deterministic, by shape
BY_TYPE: dict[str, Any] = {"boolean": False, "integer": 0, "number": 0, "string": "", "array": [], "object": {}}
MESSAGE_LIMIT = 120


def tokens_of(path: str) -> Tokens:
    return tuple(None if s.startswith("{") and s.endswith("}") else s for s in segments_of(path))


@dataclass(frozen=True)
class Problem:
    """One way a request body breaks its schema: the field (dotted; `(body)` for the body itself) and what."""

    field: str
    problem: str
    value: Any = None


class Document:
    """The document's operations by (template tokens, METHOD), with `$ref`s followed for reading."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.operations: dict[tuple[Tokens, str], dict[str, Any]] = {}
        self.params: dict[Tokens, list[str]] = {}  # template tokens -> the names of its `{param}` segments
        for path, item in (document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            tokens = tokens_of(str(path))
            self.params[tokens] = [s[1:-1] for s in segments_of(str(path)) if s.startswith("{") and s.endswith("}")]
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    self.operations[(tokens, method.upper())] = item[method]
        from openapi_schema_validator import OAS30Validator, OAS31Validator  # only when a document is given

        version = str(document.get("openapi", "3.0"))
        self.validator_class = OAS30Validator if version.startswith("3.0") else OAS31Validator

    def has(self, tokens: Tokens, method: str) -> bool:
        return (tokens, method) in self.operations

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """A schema with its `$ref` followed, `allOf` merged and a nullable `anyOf`/`oneOf` reduced to the
        non-null branch: enough to read properties, never used to validate."""
        if not isinstance(node, dict) or depth > 20:
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            return self.resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}}, depth + 1)
        if isinstance(node.get("allOf"), list):
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            for part in node["allOf"]:
                part = self.resolve(part, depth + 1)
                if isinstance(part, dict):
                    merged.setdefault("properties", {}).update(part.get("properties") or {})
                    merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                    merged.setdefault("type", part.get("type"))
            return merged
        for key in ("anyOf", "oneOf"):
            branches = [b for b in node.get(key) or [] if not _null(self.resolve(b, depth + 1))]
            if len(branches) == 1:
                rest = {k: v for k, v in node.items() if k != key}
                return {**self.resolve(branches[0], depth + 1), **rest}
        return node

    def request_schema(self, tokens: Tokens, method: str) -> dict[str, Any] | None:
        """The JSON request body's schema as written (refs unresolved), or None."""
        operation = self.operations.get((tokens, method)) or {}
        body = self.resolve(operation.get("requestBody"))
        content = body.get("content") if isinstance(body, dict) else None
        schema = _json_media(content)
        return schema if isinstance(schema, dict) else None

    def response(self, tokens: Tokens, method: str) -> tuple[int, dict[str, Any] | None] | None:
        """The operation's first documented 2xx: (status, its JSON schema resolved, or None for no body)."""
        operation = self.operations.get((tokens, method))
        if operation is None:
            return None
        for code, answer in sorted((operation.get("responses") or {}).items()):
            if str(code).isdigit() and 200 <= int(code) < 300:
                schema = _json_media((self.resolve(answer) or {}).get("content"))
                return int(code), (self.resolve(schema) if isinstance(schema, dict) else None)
        return None

    def example(self, tokens: Tokens, method: str, status: int) -> Any:
        """The documented example of one answer (e.g. the 404 body), or None."""
        operation = self.operations.get((tokens, method)) or {}
        answer = self.resolve((operation.get("responses") or {}).get(str(status)))
        content = answer.get("content") if isinstance(answer, dict) else None
        media = (content or {}).get("application/json") if isinstance(content, dict) else None
        return media.get("example") if isinstance(media, dict) else None

    def query_params(self, tokens: Tokens, method: str) -> list[str]:
        operation = self.operations.get((tokens, method)) or {}
        params = [self.resolve(p) for p in operation.get("parameters") or []]
        return [str(p["name"]) for p in params if isinstance(p, dict) and p.get("in") == "query" and "name" in p]

    def validator(self, tokens: Tokens, method: str) -> BodyValidator | None:
        schema = self.request_schema(tokens, method)
        if schema is None:
            return None
        root = {**schema, "components": self.document.get("components") or {}}  # `#/components/...` resolves
        return BodyValidator(self.validator_class(root), self.resolve(schema))

    def properties(self, schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        if not isinstance(schema, dict):
            return {}
        return {name: self.resolve(prop) for name, prop in (schema.get("properties") or {}).items()}


def _null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _json_media(content: Any) -> Any:
    if not isinstance(content, dict):
        return None
    for media, found in content.items():
        if ("json" in media or media == "*/*") and isinstance(found, dict):
            return found.get("schema")
    return None


class BodyValidator:
    """A request body's schema: `problems(body)` lists what is wrong with a body, one Problem per error."""

    def __init__(self, validator: Any, resolved: dict[str, Any]) -> None:
        self.validator = validator
        self.resolved = resolved

    def problems(self, body: Any) -> list[Problem]:
        found: list[Problem] = []
        for error in self.validator.iter_errors(body):
            found.extend(_problems(_deepest(error), body))
        order = {name: n for n, name in enumerate(self.resolved.get("properties") or {})}
        return sorted(found, key=lambda p: (order.get(p.field.partition(".")[0], len(order)), p.field))


def _deepest(error: Any) -> Any:
    """For an `anyOf` (a nullable field in OpenAPI 3.1) the branch that explains the error best."""
    from jsonschema.exceptions import best_match

    while error.validator in ("anyOf", "oneOf") and error.context:
        error = best_match(error.context)
    return error


def _problems(error: Any, body: Any) -> list[Problem]:
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in error.validator_value if name not in instance]
        return [Problem(_join(where, name), "is required", body) for name in missing]
    if error.validator == "additionalProperties":
        allowed = set((error.schema or {}).get("properties") or {})
        extra = [name for name in (error.instance or {}) if name not in allowed]
        return [Problem(_join(where, name), "is not allowed", error.instance[name]) for name in extra]
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [Problem(where or "(body)", "must be " + " or ".join(_article(str(k)) for k in kinds), error.instance)]
    if error.validator == "enum":
        allowed_values = ", ".join(json.dumps(v) for v in error.validator_value)
        return [Problem(where or "(body)", f"must be one of {allowed_values}", error.instance)]
    return [Problem(where or "(body)", str(error.message)[:MESSAGE_LIMIT], error.instance)]


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _article(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def server_value(prop: dict[str, Any]) -> Any:
    """What a server sets for a readOnly property it declares: its default or example, else by its type and
    format (a date-time is a fixed timestamp, compared by shape; booleans false; numbers 0)."""
    for key in ("default", "example"):
        if key in prop:
            return prop[key]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string" and prop.get("format") == "date-time":
        return FIXED_TIME
    if kind == "string" and prop.get("format") == "date":
        return FIXED_TIME[:10]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return prop["enum"][0]
    return BY_TYPE.get(str(kind))
