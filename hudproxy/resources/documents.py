"""An OpenAPI document's paths as templates (`--openapi FILE`): where a document names the API's paths, they
override the templates clustering infers (a slug like `/notes/groceries` looks like no id, but
`/notes/{slug}` says it is one), and an item path's parameter names the id field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.resources.templates import Segments, Template, segments_of

METHODS = {"get", "put", "post", "patch", "delete"}


def load_openapi(path: str | Path) -> dict[str, Any]:
    """An OpenAPI document from a JSON or YAML file; anything else is one line naming the file."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        document = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"--openapi {file}: cannot read it ({exc.strerror}).") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"--openapi {file}: not JSON or YAML ({str(exc).splitlines()[0]}).") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ConfigError(f"--openapi {file}: no `paths` object; give an OpenAPI 3 document.")
    return document


def documented_templates(document: dict[str, Any]) -> list[Template]:
    """Each documented path with an operation as a template (`{param}` segments are variables), the most literal
    first, so `/users/me` wins over `/users/{id}`."""
    found = []
    for path, item in document.get("paths", {}).items():
        if not isinstance(item, dict) or not METHODS & set(item):
            continue
        tokens = tuple(None if s.startswith("{") and s.endswith("}") else s for s in segments_of(str(path)))
        found.append(Template(tokens))
    return sorted(found, key=lambda t: -sum(token is not None for token in t.tokens))


def documented_ids(document: dict[str, Any]) -> dict[tuple[str | None, ...], str]:
    """For each documented item path (`/notes/{slug}`), its collection's tokens -> the name of the id parameter:
    the document says which field identifies an item where the recording leaves it ambiguous."""
    found: dict[tuple[str | None, ...], str] = {}
    for path, item in document.get("paths", {}).items():
        segments = segments_of(str(path))
        if not isinstance(item, dict) or not METHODS & set(item) or not segments:
            continue
        last = segments[-1]
        if last.startswith("{") and last.endswith("}"):
            tokens = tuple(None if s.startswith("{") and s.endswith("}") else s for s in segments[:-1])
            found[tokens] = last[1:-1]
    return found


def documented(templates: list[Template], segments: Segments) -> Template | None:
    """The documented template a recorded path fits, if any."""
    return next((t for t in templates if t.match(segments) is not None), None)
