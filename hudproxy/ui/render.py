"""Templates and the few HTML helpers Jinja cannot say well: JSON folded into <details>, bytes as a hex dump."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from hudproxy.inspection.summary import decoded
from hudproxy.interaction.body import as_text, parse_json
from hudproxy.interaction.headers import Headers, header_value

MAX_TREE_NODES = 3_000  # a bigger document is shown as pretty text (a tree that size helps nobody)
HEX_SHOWN = 1024


def json_tree(data: Any, open_depth: int = 1) -> Markup:
    """Objects and arrays as nested <details> (open to `open_depth`), leaves as typed spans."""
    if _nodes(data, MAX_TREE_NODES + 1) > MAX_TREE_NODES:
        return Markup('<pre class="body">{}</pre>').format(json.dumps(data, indent=2, ensure_ascii=False))
    return Markup('<div class="json">{}</div>').format(_tree(data, 0, open_depth))


def _nodes(data: Any, stop: int) -> int:
    count, stack = 0, [data]
    while stack and count < stop:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _tree(data: Any, depth: int, open_depth: int) -> Markup:
    if isinstance(data, dict | list):
        items = data.items() if isinstance(data, dict) else enumerate(data)
        brackets = "{}" if isinstance(data, dict) else "[]"
        if not data:
            return Markup('<span class="j-empty">{}</span>').format(brackets)
        noun = "key" if isinstance(data, dict) else "item"
        summary = f"{brackets[0]} {len(data)} {noun}{'' if len(data) == 1 else 's'} {brackets[1]}"
        inner = Markup("").join(
            Markup('<div class="j-item"><span class="j-key">{}</span>: {}</div>').format(
                key if isinstance(data, dict) else f"[{key}]", _tree(value, depth + 1, open_depth)
            )
            for key, value in items
        )
        opened = " open" if depth < open_depth else ""
        return Markup("<details{}><summary>{}</summary>{}</details>").format(Markup(opened), summary, inner)
    kind = "null" if data is None else "bool" if isinstance(data, bool) else type(data).__name__
    return Markup('<span class="j-{}">{}</span>').format(kind, json.dumps(data, ensure_ascii=False))


def hex_dump(data: bytes, limit: int = HEX_SHOWN) -> str:
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        row = data[offset : offset + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}  {row.hex(' '):<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes")
    return "\n".join(lines)


def body_view(headers: Headers, body: bytes) -> dict[str, Any]:
    """What a recorded body is, for the template: json (data), text, binary (hex) or empty."""
    if not body:
        return {"kind": "empty", "size": 0}
    plain = decoded(headers, body)
    is_json, data = parse_json(plain, header_value(headers, "content-type"))
    if is_json:
        return {"kind": "json", "data": data, "size": len(plain)}
    text = as_text(plain)
    if text is not None:
        return {"kind": "text", "text": text, "size": len(plain)}
    return {"kind": "binary", "hex": hex_dump(plain), "size": len(plain)}


def text_view(text: str | None) -> dict[str, Any]:
    """A journal body (stored as text): JSON folded, anything else as it is."""
    if not text:
        return {"kind": "empty", "size": 0}
    try:
        return {"kind": "json", "data": json.loads(text), "size": len(text)}
    except ValueError:
        return {"kind": "text", "text": text, "size": len(text)}


def query(params: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters changed (None drops one): links that keep the filters."""
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return ("?" + urlencode(merged)) if merged else ""


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hudproxy.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["json_tree"] = json_tree
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.filters["pretty_json"] = lambda data: json.dumps(data, indent=2, ensure_ascii=False, default=str)
    env.filters["number"] = lambda value: "" if value is None else f"{value:,}"
    env.filters["ms"] = lambda value: "" if value is None else f"{value:.1f}"
    env.filters["score"] = lambda value: "" if value is None else f"{value:.2f}"
    env.globals["query"] = query
    env.globals["escape"] = escape
    return env
