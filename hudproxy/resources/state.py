"""One session's resource state: copy-on-write over the model's starting items.

The model's items are shared by every session and never changed; a session stores only what it changed (a new
or replaced item, or a deletion marker), per collection. `state()` is the whole world as this session sees it,
`state_diff()` what it changed against the start: what an eval grades ("A1 is shipped and nothing else changed").
"""

from __future__ import annotations

from typing import Any

from hudproxy.resources.ids import natural_key
from hudproxy.resources.model import Resource, ResourceModel
from hudproxy.resources.templates import Segments

Item = dict[str, Any]
DELETED = None


class ResourceState:
    """The changes one session made; everything else is read from the shared model."""

    __slots__ = ("changes", "counters", "minted", "model", "seed", "session", "synthetic", "why")

    def __init__(self, model: ResourceModel, session: str = "default", seed: int = 0) -> None:
        self.model = model
        self.session = session
        self.seed = seed
        self.changes: dict[tuple[str, Segments], dict[str, Item | None]] = {}
        self.counters: dict[str, int] = {}  # resource -> the next sequence number
        self.minted: dict[str, int] = {}  # resource -> random-style ids made so far
        # what the session changed by writes no recording matched: recorded reads of these are stale for it
        self.synthetic: set[tuple[str, Segments, str | None]] = set()
        self.why = ""  # why the last request was not synthesized

    # ------------------------------------------------------------ reading

    def get(self, resource: Resource, parent: Segments, item_id: str) -> Item | None:
        changed = self.changes.get((resource.name, parent))
        if changed is not None and item_id in changed:
            return changed[item_id]
        return resource.baseline.get(parent, {}).get(item_id)

    def items(self, resource: Resource, parent: Segments) -> list[tuple[str, Item]]:
        """The collection as this session sees it, in the learned order (by id, or recorded then created)."""
        base = resource.baseline.get(parent, {})
        changed = self.changes.get((resource.name, parent))
        if not changed:
            found = list(base.items())
        else:
            found = [(i, changed.get(i, item)) for i, item in base.items()]
            found.extend((i, item) for i, item in changed.items() if i not in base)
            found = [(i, item) for i, item in found if item is not None]
        if resource.listing is not None and resource.listing.order == "natural":
            found.sort(key=lambda pair: natural_key(pair[0]))
        return found  # type: ignore[return-value]

    # ------------------------------------------------------------ changing

    def put(self, resource: Resource, parent: Segments, item_id: str, item: Item, synthetic: bool = True) -> None:
        self.changes.setdefault((resource.name, parent), {})[item_id] = item
        if synthetic:
            self.synthetic.update(((resource.name, parent, item_id), (resource.name, parent, None)))

    def remove(self, resource: Resource, parent: Segments, item_id: str, synthetic: bool = True) -> None:
        self.changes.setdefault((resource.name, parent), {})[item_id] = DELETED
        if synthetic:
            self.synthetic.update(((resource.name, parent, item_id), (resource.name, parent, None)))

    def absent(self, resource: Resource, parent: Segments, item_id: str) -> bool:
        """Known not to exist in this session: deleted here, or made by a recorded create it has not repeated.
        (An item the recording never showed is unknown, not absent.)"""
        changed = self.changes.get((resource.name, parent))
        if changed is not None and item_id in changed:
            return changed[item_id] is None
        return (parent, item_id) in resource.created_in_recording

    def changed_by_session(self, resource: Resource, parent: Segments, item_id: str | None) -> bool:
        """Did a synthesized write change this item (or, with `item_id` None, this collection)?"""
        return (resource.name, parent, item_id) in self.synthetic

    def new_id(self, resource: Resource) -> str:
        """The next id in the resource's style: deterministic for the same model, session and seed."""
        style = resource.id_style
        if style.sequential:
            number = self.counters.get(resource.name, resource.first_free)
            self.counters[resource.name] = number + 1
            return style.format(number)
        count = self.minted.get(resource.name, 0)
        self.minted[resource.name] = count + 1
        return style.random(self.seed, self.session, resource.name, count)

    def saw_id(self, resource: Resource, item_id: str) -> None:
        """A recorded create handed out `item_id`: the session's next id comes after it."""
        number = resource.id_style.number(item_id)
        if number is not None:
            self.counters[resource.name] = max(self.counters.get(resource.name, resource.first_free), number + 1)

    def reset(self) -> None:
        self.synthetic.clear()
        self.changes.clear()
        self.counters.clear()
        self.minted.clear()

    # ------------------------------------------------------------ for graders

    def state(self) -> dict[str, dict[str, Item]]:
        """Every item this session sees: {resource: {id: item}}; nested items are keyed `parent-id/id`."""
        out: dict[str, dict[str, Item]] = {}
        for resource in self.model.resources:
            parents = set(resource.baseline) | {p for (name, p) in self.changes if name == resource.name}
            view: dict[str, Item] = {}
            for parent in sorted(parents):
                for item_id, item in self.items(resource, parent):
                    view["/".join((*parent, item_id))] = item
            out[resource.name] = view
        return out

    def state_diff(self) -> dict[str, list[dict[str, Any]]]:
        """What changed against the session's start: created, deleted, and updated items field by field."""
        created: list[dict[str, Any]] = []
        deleted: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        for (name, parent), changed in self.changes.items():
            resource = self.model.by_name[name]
            base = resource.baseline.get(parent, {})
            for item_id, item in changed.items():
                where = {"resource": name, "id": item_id, "path": resource.item.fill((*parent, item_id))}
                before = base.get(item_id)
                if before is None and item is not None:
                    created.append({**where, "item": item})
                elif before is not None and item is None:
                    deleted.append({**where, "item": before})
                elif before is not None and item is not None:
                    fields = field_changes(before, item)
                    if fields:
                        updated.append({**where, "fields": fields})
        return {"created": created, "deleted": deleted, "updated": updated}


def field_changes(before: Item, after: Item) -> dict[str, dict[str, Any]]:
    """{field: {"before": x, "after": y}} for each top-level field that differs (absent is None)."""
    keys = list(dict.fromkeys([*before, *after]))
    return {k: {"before": before.get(k), "after": after.get(k)} for k in keys if before.get(k) != after.get(k)}
