"""Find the line of a key path in a cassette's text, for error messages (only ever on the error path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def line_of(text: bytes, loc: tuple[Any, ...], path: Path) -> int:
    """1-based line of the deepest node of `loc` that exists; 1 when the text can't be composed.

    JSON is (almost always) valid YAML, so one composer serves both formats.
    """
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return 1
    line = 1
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        node = _child(node, part)
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None
