"""Faults from a YAML file, a dict (admin API, task file, Python) or keyword arguments: one error line each.

A bad file names its path, the line and the rule: `faults.yaml:7: rule 2 (orders-throttled): fault.status:
Input should be less than or equal to 599`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hudproxy.errors import ConfigError
from hudproxy.faults.model import FaultsFile
from hudproxy.faults.plan import FaultPlan
from hudproxy.yamlsource import compose


def load_faults(path: str | Path) -> FaultPlan:
    """The faults file at `path` (YAML or JSON), checked whole before anything runs."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the faults file ({exc.strerror or exc})") from None
    root = compose(text, path, ConfigError)
    if root is None:
        raise ConfigError(f"{path}: the faults file is empty; it holds `seed:` and `rules:` (a list)")
    data = yaml.SafeLoader("").construct_document(root)
    return parse_faults(data, str(path), root)


def parse_faults(data: Any, where: str = "faults", root: yaml.Node | None = None) -> FaultPlan:
    """A FaultPlan from plain data: `{seed, rules: [...]}`, or just the list of rules."""
    if isinstance(data, FaultPlan):
        return data
    if isinstance(data, Sequence) and not isinstance(data, str):
        data = {"rules": list(data)}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: faults are a mapping `{{seed: N, rules: [...]}}`, not {type(data).__name__}")
    try:
        spec = FaultsFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(first_error(exc, data, where, root)) from None
    return FaultPlan(spec, where)


def first_error(exc: ValidationError, data: Mapping[str, Any], where: str, root: yaml.Node | None) -> str:
    """One line: file(:line), the rule (number and name) and what is wrong with which field."""
    error = max(exc.errors(), key=lambda e: len(e["loc"]))  # the deepest says most (a union tries each arm)
    loc = present(error["loc"], data)
    place = where if root is None else f"{where}:{line_of(root, loc)}"
    rule = ""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        entry = (data.get("rules") or [None] * (loc[1] + 1))[loc[1]]
        name = entry.get("name") if isinstance(entry, Mapping) else None
        rule = f"rule {loc[1] + 1}" + (f" ({name})" if name else "") + ": "
        loc = loc[2:]
    field = ".".join(str(p) for p in loc if not isinstance(p, int) or not rule)
    message = error["msg"].removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    return f"{place}: {rule}{field + ': ' if field else ''}{message}" + (f" (and {more} more)" if more else "")


def present(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """The parts of an error's location that are in the data: pydantic adds union tags (`status`, `float`)."""
    kept: list[Any] = []
    for part in loc:
        inside = isinstance(data, Mapping) and part in data
        if inside or (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            data = data[part]
        elif isinstance(data, Mapping | list):
            continue  # a tag, or a key that is missing (kept below when it is the last part)
        else:
            break
        kept.append(part)
    last = loc[-1] if loc else None
    if isinstance(last, str) and isinstance(data, Mapping) and last not in data and last not in kept:
        kept.append(last)  # a required field left out
    return tuple(kept)


def line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node of `loc` present in the document."""
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def faults_from(value: Any, where: str = "faults") -> FaultPlan | None:
    """What every entry point accepts: None, a FaultPlan, a path to a faults file, or the data itself."""
    if value is None or isinstance(value, FaultPlan):
        return value
    if isinstance(value, Path):
        return load_faults(value)
    if isinstance(value, str):
        return load_faults(value)
    return parse_faults(value, where)
