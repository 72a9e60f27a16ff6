"""JSON: secret-named fields at any depth, and secrets inside strings, hidden in the original text.

The text of a recorded body stays as it was (spacing, key order, escapes): each secret value's own span is
replaced, then the result is parsed again and checked to hold nothing left to scrub. Only when a span could not
be found (a secret number in a list, an unusual escape) is the body written out again from the scrubbed data,
so a secret is never kept to save a byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hudproxy.scrub.text import Scrubber, rule_of

Leaf = str | int | float
SCHEMA_WORDS = frozenset({"type", "anyOf", "oneOf", "allOf", "$ref", "enum", "items", "properties", "format"})


def schema_names(key: object, value: Any) -> bool:
    """A JSON Schema's `properties` (an LLM tool's parameters, an OpenAPI body): its keys name fields (a tool
    may take a `password`), and the schemas under them hold no secret, so they are walked, never hidden."""
    return (
        key == "properties"
        and isinstance(value, dict)
        and bool(value)
        and all(isinstance(v, dict) and not SCHEMA_WORDS.isdisjoint(v) for v in value.values())
    )


def collect(data: Any, scrubber: Scrubber, found: list[tuple[str, Leaf]]) -> None:
    """(field name, value) of every string or number under a secret-named field, hidden as it is found."""
    policy = scrubber.policy
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if schema_names(key, value):
                    stack.extend(value.values())
                elif policy.is_secret_field(str(key)):
                    _leaves(str(key), value, scrubber, found)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))


def _leaves(key: str, value: Any, scrubber: Scrubber, found: list[tuple[str, Leaf]]) -> None:
    """Every string or number under a secret name (a list of keys, a nested token object); booleans and nulls
    say nothing secret and stay, so the shape remains readable."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            scrubber.hide(str(item), rule_of(key))
            found.append((key, item))


def rewrite(data: Any, scrubber: Scrubber) -> Any:
    """A scrubbed copy of parsed JSON: secret-named values become placeholders, strings are scanned as text."""
    if isinstance(data, dict):
        policy = scrubber.policy
        return {
            key: {name: rewrite(schema, scrubber) for name, schema in value.items()}
            if schema_names(key, value)
            else _hidden(value, rule_of(str(key)), scrubber)
            if policy.is_secret_field(str(key))
            else rewrite(value, scrubber)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [rewrite(item, scrubber) for item in data]
    if isinstance(data, str):
        return scrubber.text(data)
    return data


def _hidden(value: Any, rule: str, scrubber: Scrubber) -> Any:
    if isinstance(value, dict):
        return {key: _hidden(item, rule, scrubber) for key, item in value.items()}
    if isinstance(value, list):
        return [_hidden(item, rule, scrubber) for item in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return scrubber.hide(str(value), rule)
    return value


def scrub_data(data: Any, scrubber: Scrubber) -> Any:
    """Rewrite; when that met new secrets, rewrite again knowing them all, so an echo placed before its secret
    in the document is found too (most documents carry none: one walk)."""
    known = len(scrubber.hidden)
    out = rewrite(data, scrubber)
    return out if len(scrubber.hidden) == known else rewrite(data, scrubber)


def scrub_json_text(text: str, scrubber: Scrubber) -> str | None:
    """The JSON document `text` with its secret spans replaced; None when it is not JSON."""
    try:
        data = json.loads(text)
        found: list[tuple[str, Leaf]] = []
        collect(data, scrubber, found)
    except (ValueError, RecursionError):
        return None
    out = text
    for key, value in found:
        placeholder = scrubber.hide(str(value), rule_of(key))
        if placeholder != value:
            out = _replace_value(out, key, value, placeholder)
    out = scrubber.text(out, in_json=True)
    if (out == text and "\\u" not in text and "\\/" not in text) or _clean(out, scrubber):
        return out  # escapes (`\u0026`, `:\/\/`) can hide a pair or a URL from the text scan: then parse to check
    try:
        return scrubber.text(json.dumps(rewrite(data, scrubber), ensure_ascii=False), in_json=True)
    except RecursionError:  # nested deeper than a rewrite can walk: the spans found are what can be done
        return out


def _replace_value(text: str, key: str, value: Leaf, placeholder: str) -> str:
    """Replace `value` as a whole JSON string (never a key), or as the number given for `key`."""
    quoted = json.dumps(placeholder)
    if isinstance(value, str):
        for escaped in {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}:
            text = re.sub(rf'"{re.escape(escaped)}"(?!\s*:)', lambda _: quoted, text)
        return text
    number = re.escape(json.dumps(value))
    return re.sub(rf"({re.escape(json.dumps(key))}\s*:\s*){number}(?![0-9.eE])", lambda m: m.group(1) + quoted, text)


def _clean(text: str, scrubber: Scrubber) -> bool:
    """Nothing left to scrub: the replaced text parses and scrubbing it again changes nothing."""
    try:
        again = json.loads(text)
        return bool(rewrite(again, scrubber) == again)
    except (ValueError, RecursionError):
        return False
