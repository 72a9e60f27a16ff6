"""YAML read for its nodes (so each entry's line is known for messages), with a parse error as one located line.

Task files and faults files report `file:LINE: what is wrong`; this is the part they share: where PyYAML says
the error is, and composing a file's node tree with that error turned into the caller's own error type.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hudproxy.errors import HudproxyError


def error_place(path: str | Path, exc: yaml.YAMLError) -> str:
    """`path:LINE` where PyYAML marks the problem, else the path."""
    mark = getattr(exc, "problem_mark", None)
    return f"{path}:{mark.line + 1}" if mark is not None else str(path)


def error_problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or str(exc).splitlines()[0])


def compose(text: str, path: str | Path, error: type[HudproxyError]) -> yaml.Node | None:
    """The document's root node (None for an empty file); invalid YAML is `error("path:LINE: not valid YAML (...)")`."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise error(f"{error_place(path, exc)}: not valid YAML ({error_problem(exc)})") from None
