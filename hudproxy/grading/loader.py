"""Rubric files: YAML read with line numbers kept (ruamel.yaml), so a mistake is one line naming the file, the
line and the rule (`rubric.yaml:12: criterion 'refunded once': call.times: ...`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from hudproxy.errors import ConfigError
from hudproxy.grading.model import Rubric


class RubricError(ConfigError):
    """A rubric file that cannot be used; the message names the file, the line and the rule."""


def load_rubric(path: str | Path) -> Rubric:
    """The rubric in a YAML file (cached by path and modification time: an eval loads it once)."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise RubricError(f"{path}: cannot read the rubric ({exc.strerror or exc})") from None
    return _load(str(path.resolve()), str(path), stamp)


@functools.lru_cache(maxsize=64)
def _load(resolved: str, shown: str, _stamp: int) -> Rubric:
    text = Path(resolved).read_text(encoding="utf-8")
    return parse_rubric(text, shown)


def parse_rubric(text: str, source: str = "<rubric>") -> Rubric:
    try:
        root = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise RubricError(f"{where}: not valid YAML ({exc.problem or exc.context})") from None
    if root is None:
        raise RubricError(f"{source}: the rubric is empty; give `gates:` and/or `criteria:`")
    if not isinstance(root, CommentedMap):
        raise RubricError(f"{source}:1: a rubric is a mapping with `gates:` and `criteria:`")
    try:
        return Rubric.model_validate({**_plain(root), "source": source})
    except ValidationError as exc:
        raise RubricError(_message(exc, root, source)) from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _message(exc: ValidationError, root: CommentedMap, source: str) -> str:
    """The first problem as one line: where it is (file:line), which rule, which field, what is wrong."""
    error = exc.errors()[0]
    loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-after"))]
    line, rule = _locate(root, loc)
    field = ".".join(str(p) for p in loc[2:]) if rule else ".".join(str(p) for p in loc)
    text = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        text = "unknown key (check the spelling; see hudproxy.grading.model for the keys)"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    head = f"{source}:{line}: " + (f"{rule}: " if rule else "")
    return f"{head}{field + ': ' if field else ''}{text}{more}"


def _locate(root: CommentedMap, loc: list[Any]) -> tuple[int, str]:
    """(1-based line of the deepest node of `loc` found, the rule's label: `criterion 'name'` or `gate 2`)."""
    line, node, rule = 1, root, ""
    for depth, part in enumerate(loc):
        try:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (AttributeError, KeyError, TypeError):
            break
        if depth == 1 and loc[0] in ("criteria", "gates"):
            rule = _label(loc[0], part, node)
    return line, rule


def _label(section: str, index: Any, node: Any) -> str:
    if section == "criteria":
        name = node.get("name") if isinstance(node, dict) else None
        return f"criterion {name!r}" if name else f"criterion {index + 1}"
    kind = next(iter(node), "") if isinstance(node, dict) and node else ""
    return f"gate {index + 1}" + (f" ({kind})" if kind else "")
