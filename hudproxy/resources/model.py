"""The learned resource model: resources, the rules for each operation with their evidence, and the gaps.

Read-only once learned, so every session shares it; a session's changes live in `ResourceState`.
Evidence is a list of interaction indexes (the cassette's own numbering, as `hudproxy inspect` shows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hudproxy.interaction.model import Request
from hudproxy.resources.ids import IdStyle
from hudproxy.resources.templates import Segments, Template, segments_of

ROUTE_MEMO = 65_536
EVIDENCE_SHOWN = 12  # interactions kept per rule: enough to look up, small for 100,000-interaction cassettes
Key = tuple[Segments, str]  # (parent ids, item id)


def evidence_list(indexes: list[int]) -> list[int]:
    return indexes[:EVIDENCE_SHOWN]


@dataclass
class Rule:
    """One thing the model does, the interactions that taught it, and what it does not know about it."""

    name: str
    evidence: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:  # overridden: one line for `inspect --model`
        return self.name

    def to_dict(self) -> dict[str, Any]:
        details = {k: v for k, v in asdict(self).items() if k not in ("name", "evidence", "notes")}
        return {"rule": self.name, "does": self.describe(), "evidence": self.evidence, "notes": self.notes,
                "details": _shown(details)}  # fmt: skip


def _shown(data: Any) -> Any:
    """JSON-safe, with the missing-id placeholder written as `{id}` and bytes as text."""
    if isinstance(data, str):
        return data.replace(ID_MARK, "{id}")
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    if isinstance(data, dict):
        return {str(k): _shown(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_shown(v) for v in data]
    return data


@dataclass
class ReadRule(Rule):
    status: int = 200
    content_type: str = "application/json"

    def describe(self) -> str:
        return f"GET an item → {self.status} with its current representation"


@dataclass
class NotFoundRule(Rule):
    """The answer for an item that does not exist (never did, or deleted): the recorded 4xx, id substituted."""

    status: int = 404
    body: Any = None  # JSON with ID_MARK where the missing id was; or bytes when not JSON
    content_type: str = "application/json"

    def describe(self) -> str:
        return f"a missing item → {self.status} (the recorded body, with its id)"


ID_MARK = "\x00id\x00"


@dataclass
class FieldRole:
    """Where a field of a created or replaced item comes from."""

    kind: str  # id | request | parent | timestamp | server
    # request: the default when absent; parent: the variable's position; timestamp: the latest; server: the value
    # the OpenAPI schema says the server sets (a readOnly property's default, else one of its type)
    value: Any = None
    has_default: bool = False

    def describe(self) -> str:
        if self.kind == "request":
            return "from the request" + (f" (default {self.value!r})" if self.has_default else "")
        if self.kind == "parent":
            return f"the parent's id (path variable {self.value})"
        if self.kind == "timestamp":
            return f"a server timestamp (the latest recorded, {self.value!r})"
        if self.kind == "server":
            return f"set by the server (readOnly in the OpenAPI schema; {self.value!r})"
        return "the new id"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "does": self.describe()}


@dataclass
class CreateRule(Rule):
    status: int = 201
    fields: dict[str, FieldRole] = field(default_factory=dict)
    required: dict[str, str] = field(default_factory=dict)  # request field -> JSON type every recording had
    location: str | None = None  # prefix before the item path ("" for a relative Location); None: no header
    first_number: int | None = None  # the first recorded create's sequence number
    content_type: str = "application/json"

    def describe(self) -> str:
        where = "" if self.location is None else ", Location: the new item's URL"
        return f"POST to the collection → {self.status}, new id{where}"


@dataclass
class UpdateRule(Rule):
    method: str = "PATCH"
    semantics: str = "merge"  # merge (PATCH) | replace (PUT)
    status: int = 200
    returns_body: bool = True
    touched: dict[str, Any] = field(default_factory=dict)  # timestamp fields the server sets -> latest recorded
    required: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def describe(self) -> str:
        how = "merges the request's fields" if self.semantics == "merge" else "replaces the item's fields"
        body = "the item" if self.returns_body else "no body"
        return f"{self.method} {how} → {self.status} with {body}"


@dataclass
class DeleteRule(Rule):
    status: int = 204
    body: bytes = b""
    content_type: str | None = None

    def describe(self) -> str:
        return f"DELETE removes the item → {self.status}" + (" with the recorded body" if self.body else "")


@dataclass
class Pagination:
    """How the recorded lists page: by page number, by offset, or not at all."""

    style: str = "none"  # page | offset | none
    page_param: str | None = None
    size_param: str | None = None
    offset_param: str | None = None
    default_size: int | None = None
    next_params: list[str] = field(default_factory=list)  # the order of the params in a recorded next URL
    next_prefix: str = ""  # scheme://host when the recorded next URL was absolute

    def describe(self) -> str:
        if self.style == "none":
            return "no pagination recorded"
        params = ", ".join(p for p in (self.page_param, self.offset_param, self.size_param) if p)
        size = f", default size {self.default_size}" if self.default_size else ", default size not recorded"
        return f"by {self.style} ({params}){size}"


@dataclass
class ListRule(Rule):
    status: int = 200
    shape: str = "array"  # array | envelope
    items_key: str | None = None
    roles: dict[str, str] = field(default_factory=dict)  # envelope field -> page|size|offset|total|next_*|constant
    constants: dict[str, Any] = field(default_factory=dict)
    envelope_order: list[str] = field(default_factory=list)
    pagination: Pagination = field(default_factory=Pagination)
    filters: dict[str, str] = field(default_factory=dict)  # query param -> item field, as recorded
    fields: list[str] | None = None  # list items show only these fields (None: the full item)
    order: str = "natural"  # natural (by id) | recorded
    content_type: str = "application/json"

    def describe(self) -> str:
        shape = "a bare array" if self.shape == "array" else f"an envelope, items under {self.items_key!r}"
        filters = f"; filters: {', '.join(sorted(self.filters))}" if self.filters else ""
        return f"GET the collection → {shape}; {self.pagination.describe()}{filters}"


@dataclass
class Resource:
    name: str
    collection: Template
    item: Template
    id_field: str
    id_style: IdStyle
    parent: str | None = None  # the resource whose item path this one's collection nests under
    read: ReadRule | None = None
    listing: ListRule | None = None
    create: CreateRule | None = None
    updates: dict[str, UpdateRule] = field(default_factory=dict)
    delete: DeleteRule | None = None
    not_found: NotFoundRule | None = None
    baseline: dict[Segments, dict[str, dict[str, Any]]] = field(default_factory=dict)  # parent -> id -> item
    id_evidence: list[int] = field(default_factory=list)
    first_free: int = 1  # the sequence number a session's first new id gets (sequential styles)
    created_in_recording: set[Key] = field(default_factory=set)  # items a recorded create made (absent at start)
    tool_rules: list[Rule] = field(default_factory=list)  # an MCP tool resource's rules (get_x, list_xs, ...)
    mcp_server: str | None = None  # set: learned from MCP tool calls, reached by tool name (never by HTTP path)
    source: str = "recording"  # recording | openapi (declared by the document, no interaction recorded)
    invalid: Rule | None = None  # --openapi: the answer to a body that breaks the schema (resources.invalid)
    validators: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # METHOD -> BodyValidator
    # serialised reads shared by every session: (parent, id) -> (the item object, its answer). Items are never
    # changed in place (a change is a new object), so an entry holds while its item is the one a session sees.
    reads: dict[Key, tuple[dict[str, Any], Any]] = field(default_factory=dict, repr=False, compare=False)

    def rules(self) -> list[Rule]:
        found = [self.read, self.listing, self.create, *self.updates.values(), self.delete, self.not_found,
                 self.invalid, *self.tool_rules]  # fmt: skip
        return [rule for rule in found if rule is not None]

    def known_items(self) -> int:
        return sum(len(items) for items in self.baseline.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "collection": self.collection.text,
            "item": self.item.text,
            "parent": self.parent,
            "id_field": self.id_field,
            "id_style": self.id_style.describe(),
            "id_evidence": self.id_evidence,
            "items_at_start": self.known_items(),
            "rules": [rule.to_dict() for rule in self.rules()],
            "source": self.source,
        } | ({"mcp_server": self.mcp_server} if self.mcp_server is not None else {})


@dataclass
class Gap:
    """Something the model could not learn, and why: such requests stay 501 misses (or recorded-only)."""

    subject: str
    reason: str
    evidence: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "reason": self.reason, "evidence": self.evidence}


@dataclass(frozen=True)
class Route:
    resource: Resource
    kind: str  # item | collection
    parent: Segments
    item_id: str | None


@dataclass
class ResourceModel:
    resources: list[Resource] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)  # every template, its variables' evidence
    interactions: int = 0

    def __post_init__(self) -> None:
        self._routes: dict[int, list[tuple[Template, Resource, str]]] = {}
        self._memo: dict[str, Route | None] = {}
        self.by_name: dict[str, Resource] = {}
        self.index()

    def index(self) -> None:
        """Rebuild the lookup tables (after resources are added)."""
        self._routes = {}
        self._memo = {}
        self.by_name = {r.name: r for r in self.resources}
        self.tools: dict[tuple[str, str], tuple[Resource, Rule]] = {
            (r.mcp_server, rule.tool): (r, rule)  # type: ignore[attr-defined]
            for r in self.resources if r.mcp_server is not None for rule in r.tool_rules
        }  # fmt: skip
        for resource in self.resources:
            if resource.mcp_server is not None:
                continue
            for template, kind in ((resource.item, "item"), (resource.collection, "collection")):
                self._routes.setdefault(len(template.tokens), []).append((template, resource, kind))
        for routes in self._routes.values():  # the most literal template wins: /orders/stats before /orders/{id}
            routes.sort(key=lambda entry: entry[0].variables)

    def route(self, request: Request) -> Route | None:
        """Which resource a request is about (memoised by path: agents repeat their paths)."""
        path = request.path
        found = self._memo.get(path, self)
        if found is self:
            if len(self._memo) >= ROUTE_MEMO:
                self._memo.clear()
            found = self._memo[path] = self._route(segments_of(path))
        return found  # type: ignore[return-value]

    def _route(self, segments: Segments) -> Route | None:
        for template, resource, kind in self._routes.get(len(segments), ()):
            values = template.match(segments)
            if values is not None:
                if kind == "item":
                    return Route(resource, kind, values[:-1], values[-1])
                return Route(resource, kind, values, None)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "interactions": self.interactions,
            "resources": [r.to_dict() for r in self.resources],
            "templates": self.templates,
            "gaps": [g.to_dict() for g in self.gaps],
        }
