"""OpenAPI 3.x operations → tool specs, with every `$ref` made resolvable inside the tool's own schemas.

A tool is named by its operationId (FastAPI's generated ids, `get_order_orders__order_id__get`, lose their
route suffix: `get_order`), else by method and path (`patch_orders_by_order_id`). Its arguments are the path,
query and header parameters plus the JSON body's fields (flattened when no name collides, else one `body`
argument). Component schemas referenced anywhere become `$defs` of the schema that needs them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hudproxy.env.tools import ToolSpec, object_schema
from hudproxy.errors import ConfigError

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_REF = re.compile(r"^#/components/schemas/(.+)$")


@dataclass(frozen=True)
class Operation:
    """How to turn a tool call back into a request: method, path template, and where each argument goes."""

    spec: ToolSpec
    method: str
    path: str
    where: dict[str, str] = field(default_factory=dict)  # argument → path | query | header | cookie | field | body


class Refs:
    """Rewrites `#/components/schemas/X` to `#/$defs/X` and collects what each schema needs."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def lookup(self, node: Any) -> Any:
        """A parameter, body or response that is itself a `$ref` (any `#/...` pointer), followed."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            node, seen = self.pointer(node["$ref"]), seen + 1
        return node

    def pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ConfigError(f"OpenAPI $ref {ref!r}: only references inside the document are supported.")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def schema(self, schema: Any) -> dict[str, Any]:
        """A self-contained copy: refs rewritten, `nullable` (3.0) turned into a null type, `$defs` attached."""
        used: set[str] = set()
        out = self._rewrite(copy.deepcopy(schema if schema is not None else {}), used)
        pending = list(used)
        defs: dict[str, Any] = {}
        while pending:
            name = pending.pop()
            if name not in defs and name in self.components:
                found: set[str] = set()
                defs[name] = self._rewrite(copy.deepcopy(self.components[name]), found)
                pending.extend(found - set(defs))
        if defs and isinstance(out, dict):
            out["$defs"] = {**out.get("$defs", {}), **defs}
        return out

    def _rewrite(self, node: Any, used: set[str]) -> Any:
        if isinstance(node, list):
            return [self._rewrite(item, used) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: self._rewrite(value, used) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and (match := COMPONENT_REF.match(ref)):
            used.add(match.group(1))
            out["$ref"] = f"#/$defs/{match.group(1)}"
        if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out


def tool_name(operation: dict[str, Any], method: str, path: str) -> str:
    op_id = operation.get("operationId")
    if op_id:
        suffix = re.sub(r"\W", "_", path) + "_" + method
        return op_id[: -len(suffix)] if op_id.endswith(suffix) and len(op_id) > len(suffix) else op_id
    words = [method] + [
        f"by_{part.strip('{}')}" if part.startswith("{") else part for part in path.strip("/").split("/") if part
    ]
    return re.sub(r"[^A-Za-z0-9_]+", "_", "_".join(words)).strip("_")[:64]


def operations(document: dict[str, Any], label: str) -> list[Operation]:
    """Every operation of the document, as tools; names made unique by falling back to the operationId."""
    if not str(document.get("openapi", "")).startswith("3"):
        raise ConfigError(f"{label}: not an OpenAPI 3 document (no 'openapi: 3.x' field).")
    refs = Refs(document)
    out: list[Operation] = []
    names: set[str] = set()
    for path, item in document.get("paths", {}).items():
        item = refs.lookup(item)
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            name = tool_name(op, method, path)
            if name in names:
                name = op.get("operationId") or f"{name}_{len(out)}"
            names.add(name)
            out.append(_operation(refs, name, method, path, op, shared, label))
    return out


def _operation(
    refs: Refs, name: str, method: str, path: str, op: dict[str, Any], shared: list[Any], label: str
) -> Operation:
    properties: dict[str, Any] = {}
    required: list[str] = []
    where: dict[str, str] = {}
    for param in [*map(refs.lookup, shared), *map(refs.lookup, op.get("parameters", []))]:
        pname, location = param["name"], param.get("in", "query")
        prop = refs.schema(param.get("schema", {"type": "string"}))
        if param.get("description"):
            prop["description"] = param["description"]
        properties[pname], where[pname] = prop, location
        if param.get("required") or location == "path":
            required.append(pname)
    body = refs.lookup(op.get("requestBody"))
    body_schema = _json_schema(refs, body)
    if body_schema is not None:
        _add_body(refs, body_schema, bool(body.get("required")), properties, required, where)
    defs: dict[str, Any] = {}
    for prop in properties.values():
        defs.update(prop.pop("$defs", {}) if isinstance(prop, dict) else {})
    input_schema: dict[str, Any] = {"type": "object", "properties": properties, "required": sorted(set(required))}
    if defs := referenced(properties, defs):
        input_schema["$defs"] = defs
    output, wrapped = object_schema(_output(refs, op))
    description = "\n\n".join(filter(None, [op.get("summary"), op.get("description")])) or f"{method.upper()} {path}"
    spec = ToolSpec(name, description, input_schema, output, wrapped, label)
    return Operation(spec, method.upper(), path, where)


def referenced(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The `$defs` that `node` needs, transitively (a flattened body leaves its own wrapper unused)."""
    wanted: dict[str, Any] = {}
    pending = set(re.findall(r'"#/\$defs/([^"]+)"', json.dumps(node)))
    while pending:
        name = pending.pop()
        if name in defs and name not in wanted:
            wanted[name] = defs[name]
            pending |= set(re.findall(r'"#/\$defs/([^"]+)"', json.dumps(defs[name])))
    return wanted


def _json_schema(refs: Refs, holder: Any) -> dict[str, Any] | None:
    content = (holder or {}).get("content", {})
    for media, entry in content.items():
        if media == "application/json" or media.endswith("+json"):
            return refs.schema(entry.get("schema", {}))
    return None


def _add_body(
    refs: Refs, schema: dict[str, Any], body_required: bool, properties: dict[str, Any], required: list[str],
    where: dict[str, str],
) -> None:  # fmt: skip
    """Flatten an object body's fields into the arguments, or pass it whole as `body` when names collide."""
    defs = schema.get("$defs", {})
    target = schema
    if "$ref" in schema and schema["$ref"].startswith("#/$defs/"):
        target = defs.get(schema["$ref"].split("/")[-1], schema)
    fields = target.get("properties") if target.get("type", "object") == "object" else None
    if fields and not set(fields) & set(properties):
        for fname, fschema in fields.items():
            properties[fname] = {**fschema, "$defs": defs} if defs else fschema
            where[fname] = "field"
        if body_required:
            required.extend(target.get("required", []))
        return
    properties["body"], where["body"] = schema, "body"
    if body_required:
        required.append("body")


def _output(refs: Refs, op: dict[str, Any]) -> dict[str, Any] | None:
    responses = op.get("responses", {})
    for code in sorted(responses):
        if str(code).startswith("2"):
            return _json_schema(refs, refs.lookup(responses[code]))
    return None
