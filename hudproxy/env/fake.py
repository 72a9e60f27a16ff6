"""JSON Schema → a fake value that validates, deterministic per seed: the engine behind `env.mock()`.

Why our own: jsf draws from the global `random` and module-level Faker instances (no per-call seed, dates move
with the clock) and hypothesis-jsonschema is a search engine for tests (no seeded single draw, unknown formats
such as `uuid` come out invalid). This walks the schema with one `random.Random`, reads `$ref`/`$defs`,
`allOf`/`anyOf`/`oneOf`, enums, formats, bounds and `pattern` (via rstr), then checks the result with `jsonschema`
and draws again on the rare miss: a value that does not validate is never returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import uuid
from typing import Any

import jsonschema
import rstr

from hudproxy.errors import HudproxyError

MAX_DEPTH = 6
ATTEMPTS = 25
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # fixed, so a seed gives the same dates on any day
WORDS = ("alpha", "bravo", "delta", "echo", "harbor", "maple", "orbit", "pixel", "quartz", "river", "summit", "tango")
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank")


class MockSchemaError(HudproxyError):
    """No valid value could be drawn for a schema (it is contradictory, or beyond what the faker reads)."""


def seed_for(*parts: Any) -> int:
    """A stable seed from anything JSON-able (tool name, arguments, user seed): same input, same fake."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def validator_for(schema: Any) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def fake(schema: Any, seed: int = 0) -> Any:
    """A value valid against `schema` (a JSON Schema, `$defs`/`definitions` at its root), fixed by `seed`."""
    validator = validator_for(schema)
    error: Exception | None = None
    for attempt in range(ATTEMPTS):
        try:
            value = _Faker(schema, random.Random(seed * 1_000 + attempt)).value(schema, 0, "")
        except (ValueError, KeyError, RecursionError, TypeError) as exc:
            error = exc
            continue
        first = next(iter(validator.iter_errors(value)), None)
        if first is None:
            return value
        error = first
    raise MockSchemaError(f"no fake value validates against the schema ({getattr(error, 'message', error)})")


class _Faker:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def value(self, schema: Any, depth: int, hint: str) -> Any:
        if schema is True or schema == {}:
            return self.text(hint, {})
        if schema is False:
            raise ValueError("schema `false` admits no value")
        if "$ref" in schema:
            return self.value(self.resolve(schema["$ref"]) | _without(schema, "$ref"), depth + 1, hint)
        if "allOf" in schema:
            return self.value(_merge([_without(schema, "allOf"), *map(self.deref, schema["allOf"])]), depth, hint)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                option = self.pick_option(schema[key], depth)
                return self.value(_merge([_without(schema, key), self.deref(option)]), depth + 1, hint)
        kind = self.pick_type(schema, depth)
        return getattr(self, f"make_{kind}")(schema, depth, hint)

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported, not {ref!r}")
        node = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def deref(self, schema: Any) -> Any:
        if isinstance(schema, dict) and "$ref" in schema:
            return self.resolve(schema["$ref"]) | _without(schema, "$ref")
        return schema

    def pick_option(self, options: list[Any], depth: int) -> Any:
        """Mostly a non-null option; past MAX_DEPTH the null or ref-free one, so recursive schemas end."""
        nulls = [o for o in options if isinstance(o, dict) and o.get("type") == "null"]
        if depth >= MAX_DEPTH:
            flat = nulls or [o for o in options if isinstance(o, dict) and "$ref" not in o]
            if flat:
                return flat[0]
        solid = [o for o in options if o not in nulls]
        if nulls and (not solid or self.rng.random() < 0.15):
            return nulls[0]
        return self.rng.choice(solid)

    def pick_type(self, schema: dict[str, Any], depth: int) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            solid = [k for k in kind if k != "null"]
            return "null" if not solid or (depth >= MAX_DEPTH and "null" in kind) else self.rng.choice(solid)
        if kind:
            return str(kind)
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        if "minimum" in schema or "maximum" in schema or "multipleOf" in schema:
            return "number"
        return "string"

    def make_null(self, schema: dict[str, Any], depth: int, hint: str) -> None:
        return None

    def make_boolean(self, schema: dict[str, Any], depth: int, hint: str) -> bool:
        return self.rng.random() < 0.5

    def make_object(self, schema: dict[str, Any], depth: int, hint: str) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or (depth < MAX_DEPTH and self.rng.random() < 0.6):
                out[name] = self.value(sub, depth + 1, name)
        extra = schema.get("additionalProperties", True)
        wanted = max(schema.get("minProperties", 0) - len(out), 0)
        if not properties and isinstance(extra, dict) and depth < MAX_DEPTH:
            wanted = max(wanted, self.rng.randint(1, 2))
        for n in range(wanted):
            out[f"{hint or 'key'}_{n + 1}"] = self.value(extra if isinstance(extra, dict) else {}, depth + 1, "")
        return out

    def make_array(self, schema: dict[str, Any], depth: int, hint: str) -> list[Any]:
        prefix = schema.get("prefixItems", [])
        low = max(schema.get("minItems", 0), len(prefix) if schema.get("items") is False else 0)
        high = schema.get("maxItems", low + 3)
        count = low if depth >= MAX_DEPTH else self.rng.randint(max(low, min(1, high)), max(low, min(high, low + 3)))
        item_schema = schema.get("items", {})
        out = [self.value(prefix[i] if i < len(prefix) else item_schema, depth + 1, hint) for i in range(count)]
        if schema.get("uniqueItems"):
            unique = {json.dumps(v, sort_keys=True): v for v in out}
            out = list(unique.values())
        return out

    def make_integer(self, schema: dict[str, Any], depth: int, hint: str) -> int:
        low, high = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if step:
            first, last = -(-low // step), high // step
            return int(self.rng.randint(int(first), int(max(first, last))) * step)
        return self.rng.randint(low, max(low, high))

    def make_number(self, schema: dict[str, Any], depth: int, hint: str) -> float | int:
        step = schema.get("multipleOf")
        if step:
            low, high = _bounds(schema, integer=False)
            first, last = int(-(-low // step)), int(high // step)
            return round(self.rng.randint(first, max(first, last)) * step, 10)
        low, high = _bounds(schema, integer=False)
        value = round(self.rng.uniform(low, high), 2)
        return min(max(value, low), high)

    def make_string(self, schema: dict[str, Any], depth: int, hint: str) -> str:
        fmt = schema.get("format")
        if fmt in FORMATS:
            return FORMATS[fmt](self.rng)
        if "pattern" in schema:
            return rstr.Rstr(self.rng).xeger(schema["pattern"])
        return self.text(hint, schema)

    def text(self, hint: str, schema: dict[str, Any]) -> str:
        """Readable text shaped by the field name (`id` → `id-3f2a91`), sized to min/maxLength."""
        low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
        key = hint.lower()
        if key == "id" or key.endswith(("_id", "id")):
            base = f"{hint or 'id'}-{self.rng.getrandbits(24):06x}"
        elif "name" in key or key in ("customer", "user", "owner"):
            base = self.rng.choice(NAMES)
        elif "email" in key:
            base = f"{self.rng.choice(NAMES)}@example.com"
        else:
            base = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(1, 3)))
        while len(base) < low:
            base += " " + self.rng.choice(WORDS)
        return base[:high] if len(base) > high else base


def _bounds(schema: dict[str, Any], integer: bool) -> tuple[Any, Any]:
    """Inclusive (low, high) from minimum/maximum and their exclusive forms, around a modest default range."""
    tick = 1 if integer else 0.01
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
        low = max(low if low is not None else -1e18, schema["exclusiveMinimum"] + tick)
    if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
        high = min(high if high is not None else 1e18, schema["exclusiveMaximum"] - tick)
    if low is None:
        low = 0 if high is None or high >= 0 else high - 100
    if high is None:
        high = low + 1000
    if integer:
        low, high = int(-(-low // 1)), int(high // 1)
    return low, high


def _without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != key}


def _merge(parts: list[Any]) -> dict[str, Any]:
    """allOf as one schema: properties and required unioned, other keywords from the later part."""
    merged: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            else:
                merged[key] = value
    return merged


def _moment(rng: random.Random) -> dt.datetime:
    return BASE_TIME + dt.timedelta(seconds=rng.randint(0, 365 * 86_400))


FORMATS = {
    "date-time": lambda rng: _moment(rng).isoformat().replace("+00:00", "Z"),
    "date": lambda rng: _moment(rng).date().isoformat(),
    "time": lambda rng: _moment(rng).time().isoformat() + "Z",
    "duration": lambda rng: f"PT{rng.randint(1, 59)}M",
    "email": lambda rng: f"{rng.choice(NAMES)}{rng.randint(1, 99)}@example.com",
    "idn-email": lambda rng: f"{rng.choice(NAMES)}@example.com",
    "hostname": lambda rng: f"{rng.choice(WORDS)}.example.com",
    "idn-hostname": lambda rng: f"{rng.choice(WORDS)}.example.com",
    "ipv4": lambda rng: f"192.0.2.{rng.randint(1, 254)}",
    "ipv6": lambda rng: f"2001:db8::{rng.randint(1, 0xFFFF):x}",
    "uri": lambda rng: f"https://example.com/{rng.choice(WORDS)}/{rng.randint(1, 999)}",
    "iri": lambda rng: f"https://example.com/{rng.choice(WORDS)}",
    "uri-reference": lambda rng: f"/{rng.choice(WORDS)}/{rng.randint(1, 999)}",
    "iri-reference": lambda rng: f"/{rng.choice(WORDS)}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "json-pointer": lambda rng: f"/{rng.choice(WORDS)}",
    "regex": lambda rng: "^[a-z]+$",
}
