"""The end state a run left, as plain JSON: what `state`, `read`, `db` and `service` criteria read, stored with the
run so `hudproxy grade` re-scores it later without running anything.

    {"resources": {"diff": {created, deleted, updated}, "items": {path: item or None}},   # a generalising replay
     "reads":     {key: {"value": ...} or {"error": "..."}},                            # read tools, at the end
     "db":        {key: {"rows": [...]} or {"error": "..."}},                           # queries on the run's db
     "services":  {ClassName: {attribute: value}}}                                     # mock services

What to gather comes from the rubric (`needs`); gathering is the environment's job (it owns the run), scoring
reads only this dict.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hudproxy.grading.model import Rubric

if TYPE_CHECKING:
    from hudproxy.resources.state import ResourceState

EndState = dict[str, Any]


def read_key(tool: str, arguments: dict[str, Any]) -> str:
    return json.dumps([tool, arguments], sort_keys=True, default=str)


def db_key(database: str, sql: str) -> str:
    return json.dumps([database, sql])


@dataclass
class Needs:
    """What a (rendered) rubric reads from the end state."""

    resources: bool = False
    paths: list[str] = field(default_factory=list)
    reads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    queries: list[tuple[str, str]] = field(default_factory=list)
    services: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.resources or self.reads or self.queries or self.services)


def needs(rubric: Rubric) -> Needs:
    found = Needs()
    for criterion in rubric.criteria:
        if criterion.state is not None or criterion.nothing_else_changed:
            found.resources = True
            found.paths.extend(p for p in criterion.state or {} if p not in found.paths)
        if criterion.read is not None:
            found.reads.append((criterion.read.tool, dict(criterion.read.arguments)))
        if criterion.db is not None:
            found.queries.append((criterion.db.database, criterion.db.sql))
        if criterion.service is not None and criterion.service.name not in found.services:
            found.services.append(criterion.service.name)
    return found


def resource_end_state(state: ResourceState, paths: list[str]) -> dict[str, Any]:
    """The session's diff, and the item now at every changed path and every exact path asked (None: absent)."""
    diff = state.state_diff()
    items: dict[str, Any] = {}
    wanted = [p for p in paths if not _is_glob(p)]
    wanted += [e["path"] for kind in ("created", "updated") for e in diff[kind]]
    for path in wanted:
        items[path] = item_at(state, path)
    for entry in diff["deleted"]:
        items[entry["path"]] = None
    return {"diff": diff, "items": items}


def item_at(state: ResourceState, path: str) -> Any:
    from hudproxy.resources.templates import segments_of

    segments = segments_of(path)
    for resource in state.model.resources:
        values = resource.item.match(segments)
        if values is not None:
            return state.get(resource, values[:-1], values[-1])
    return None


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def items_matching(resources: dict[str, Any], pattern: str) -> dict[str, Any]:
    """{path: item} of the stored items a state key names (exact, or a glob over changed paths)."""
    items = resources.get("items", {})
    if not _is_glob(pattern):
        return {pattern: items[pattern]} if pattern in items else {}
    return {p: item for p, item in items.items() if fnmatch.fnmatchcase(p, pattern)}


def changed_paths(resources: dict[str, Any]) -> list[tuple[str, str]]:
    """(how, path) for every created, updated or deleted item."""
    diff = resources.get("diff", {})
    return [(how, entry["path"]) for how in ("created", "updated", "deleted") for entry in diff.get(how, [])]


def service_state(instance: Any) -> dict[str, Any]:
    """A mock service's public attributes, as JSON-able data."""
    attrs = {k: v for k, v in vars(instance).items() if not k.startswith("_")}
    return json.loads(json.dumps(attrs, default=str))
