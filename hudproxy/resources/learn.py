"""Learning a resource model from a cassette's HTTP interactions: one pass to template the paths, one to find
the resources and their id fields, one in recorded order for the items' starting representations and the
samples each operation's rule is learned from.

The starting state is the world at the recording's start: each item as first seen before any recorded write to
it; items a recorded create made are not in it (a session that repeats that create gets them back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import unquote

from hudproxy.cassette.files import gc_paused
from hudproxy.cassette.model import Cassette
from hudproxy.interaction.headers import header_value
from hudproxy.interaction.model import Interaction
from hudproxy.resources.bodies import as_text, json_body
from hudproxy.resources.declared import declared_resource, from_document, item_paths, share_style
from hudproxy.resources.documents import documented, documented_ids, documented_templates
from hudproxy.resources.gaps import resource_gaps
from hudproxy.resources.ids import IdStyle, infer_style
from hudproxy.resources.invalid import Rejected
from hudproxy.resources.listing import ListSample, learn_listing, list_items
from hudproxy.resources.mcp_tools import CRUD_TOOL, ToolLearner
from hudproxy.resources.model import Gap, ReadRule, Resource, ResourceModel, evidence_list
from hudproxy.resources.operations import WriteSample, learn_create, learn_delete, learn_not_found, learn_update
from hudproxy.resources.samples import ItemKey, Samples
from hudproxy.resources.schemas import Document
from hudproxy.resources.templates import Segments, Template, Tokens, cluster, path_of, segments_of

Event = tuple[int, str, Segments]  # (position, "item" | "collection", the path's variable values)
SAMPLES = 400  # recordings a rule is learned from: the first and last ones, so 100,000 interactions stay fast
T = TypeVar("T")


def spread(samples: list[T]) -> list[T]:
    """At most SAMPLES of `samples`, the first and the last half of them (in order)."""
    if len(samples) <= SAMPLES:
        return samples
    return samples[: SAMPLES // 2] + samples[-SAMPLES // 2 :]


def learn_model(source: Cassette | Sequence[Interaction], openapi: dict[str, Any] | None = None) -> ResourceModel:
    """The resource model of a cassette (MCP exchanges are left out: see the model's gaps). `openapi`: a document
    whose paths override the inferred templates, whose schemas check request bodies and fill what the server
    sets, and whose resources nobody recorded are served from the schemas alone (`--openapi FILE`)."""
    interactions = source.interactions if isinstance(source, Cassette) else list(source)
    with gc_paused():
        learner = Learner(interactions, documented_templates(openapi) if openapi else [])
        learner.documented_ids = documented_ids(openapi) if openapi else {}
        learner.document = Document(openapi) if openapi else None
        return learner.learn()


class Learner:
    def __init__(self, interactions: Sequence[Interaction], documented: list[Template] | None = None) -> None:
        self.all = interactions
        self.documented = documented or []
        self.documented_ids: dict[Tokens, str] = {}  # collection tokens -> the document's id parameter
        self.document: Document | None = None
        self.learned: list[Resource] = []
        self.interactions = [i for i in interactions if not i.request.url.startswith("mcp://")]
        self.segments = [segments_of(path_of(i.request.url)) for i in self.interactions]
        self.by_path: dict[Segments, list[int]] = {}
        for position, segments in enumerate(self.segments):
            self.by_path.setdefault(segments, []).append(position)
        self._responses: dict[int, Any] = {}
        self.gaps: list[Gap] = []

    # ------------------------------------------------------------ bodies

    def response(self, position: int) -> Any:
        found = self._responses.get(position, self)
        if found is self:
            response = self.interactions[position].response
            found = self._responses[position] = json_body(response.headers, response.body)
        return found

    def request(self, position: int) -> Any:
        request = self.interactions[position].request
        return json_body(request.headers, request.body)

    def status(self, position: int) -> int:
        return self.interactions[position].response.status

    def content_type(self, position: int) -> str:
        return header_value(self.interactions[position].response.headers, "content-type") or "application/json"

    # ------------------------------------------------------------ templates

    def confirm(self, path: Segments, depth: int, value: str) -> tuple[int, str] | None:
        """An interaction at `path` whose response has a field equal to the segment (items of a list count)."""
        for position in self.by_path.get(path, ())[:3]:
            body = self.response(position)
            objects = [body] if isinstance(body, dict) else []
            shape = list_items(body, "id")
            if shape is not None:
                objects.extend(x for x in shape[1][:1] if isinstance(x, dict))
            for data in objects:
                for key, field_value in data.items():
                    if as_text(field_value) == value:
                        return self.interactions[position].index, key
        return None

    def error_leaf(self, path: Segments) -> bool:
        return all(400 <= self.status(p) < 500 for p in self.by_path[path])

    # ------------------------------------------------------------ learning

    def learn(self) -> ResourceModel:
        clustering = cluster(self.by_path, self.confirm, self.error_leaf)
        overridden = self._document(clustering.templates)
        events, other = self._events(clustering.templates)
        resources: dict[Tokens, Resource] = {}
        for tokens, found in events.items():
            collection = Template(tokens)
            id_field = self._documented_id(tokens, found) or self._id_field(found)
            if id_field is None:
                why = "no id field: no recorded body carries the id of its path"
                self.gaps.append(Gap(collection.text, why, self._indexes([p for p, _, _ in found])))
                continue
            name = ".".join(t for t in tokens if t is not None)
            resource = Resource(name, collection, Template((*tokens, None)), id_field, IdStyle("unknown"))
            self._rules(resource, self._walk(resource, found))
            resources[tokens] = resource
            self.learned.append(resource)
        self._declared(resources, events)
        share_style(list(resources.values()))
        self._parents(resources)
        self._general_gaps(other)
        tools = self._tools()
        evidence = _template_evidence(clustering) + overridden
        return ResourceModel([*resources.values(), *tools], self.gaps, evidence, len(self.all))

    def _declared(self, resources: dict[Tokens, Resource], events: dict[Tokens, list[Event]]) -> None:
        """The document's resources no interaction reached: served from its schemas, starting empty."""
        if self.document is None:
            return
        for item in item_paths(self.document):
            if item[:-1] in resources or item[:-1] in events:
                continue
            resource = declared_resource(self.document, item, self.learned)
            resources[item[:-1]] = resource
            why = "declared in the OpenAPI document, never recorded: served from its schemas, starting empty"
            self.gaps.append(Gap(f"{resource.name} (from the OpenAPI document)", why))

    def _tools(self) -> list[Resource]:
        """The CRUD-shaped MCP tools as resources (hudproxy.resources.mcp_tools); the rest of MCP is a gap."""
        if len(self.interactions) == len(self.all):
            return []
        learner = ToolLearner(self.all)
        found = learner.learn()
        self.gaps.extend(learner.gaps)
        if not found and not learner.gaps:
            self.gaps.append(mcp_gap(self.all))
        return found

    def _document(self, templates: dict[Segments, Template]) -> list[dict[str, Any]]:
        """The OpenAPI document's templates replace the inferred ones for the paths they fit; the evidence says
        which recorded paths each one took over."""
        taken: dict[str, list[int]] = {}
        for segments, positions in self.by_path.items():
            found = documented(self.documented, segments)
            if found is not None and found != templates.get(segments):
                templates[segments] = found
                taken.setdefault(found.text, []).extend(self.interactions[p].index for p in positions[:3])
        return [{"template": text, "from": "openapi", "interactions": sorted(found)[:10]}
                for text, found in taken.items()]  # fmt: skip

    def _events(self, templates: dict[Segments, Template]) -> tuple[dict[Tokens, list[Event]], dict[str, list[int]]]:
        """Each interaction as (position, item|collection, path values) under its resource's collection tokens;
        the rest as `METHOD /template` -> interaction indexes."""
        items, collections = self._endpoints(set(templates.values()))
        events: dict[Tokens, list[Event]] = {}
        other: dict[str, list[int]] = {}
        routes: dict[Segments, tuple[list[Event] | None, str, Segments]] = {}
        for segments, template in templates.items():
            values = template.match(segments) or ()
            if template.tokens in items:
                routes[segments] = (events.setdefault(template.tokens[:-1], []), "item", values)
            elif template.tokens in collections:
                routes[segments] = (events.setdefault(template.tokens, []), "collection", values)
            else:
                routes[segments] = (None, template.text, values)
        interactions = self.interactions
        for position, segments in enumerate(self.segments):
            bucket, kind, values = routes[segments]
            if bucket is not None:
                bucket.append((position, kind, values))
            else:
                method = interactions[position].request.method.upper()
                other.setdefault(f"{method} {kind}", []).append(interactions[position].index)
        return dict(sorted(events.items(), key=lambda pair: pair[1][0][0])), other  # in recorded order

    def _general_gaps(self, other: dict[str, list[int]]) -> None:
        for subject, indexes in sorted(other.items()):
            why = "not a resource (no collection or item of one): answered only as recorded"
            self.gaps.append(Gap(subject, why, evidence_list(indexes)))
        hosts = sorted({i.request.parts.netloc for i in self.interactions[:2000]})
        if len(hosts) > 1:
            why = f"{len(hosts)} hosts recorded ({', '.join(hosts[:4])}): resources are told apart by path only"
            self.gaps.append(Gap("hosts", why))

    def _indexes(self, positions: list[int]) -> list[int]:
        return evidence_list([self.interactions[p].index for p in positions])

    def _endpoints(self, templates: set[Template]) -> tuple[set[Tokens], set[Tokens]]:
        """Item templates (ending in a variable under a literal) and their collections; plus literal paths that
        act as collections on their own (a POST there creates an item with an id)."""
        items = {t.tokens for t in templates if len(t.tokens) >= 2 and t.tokens[-1] is None and t.tokens[-2]}
        collections = {tokens[:-1] for tokens in items}
        for template in templates:
            tokens = template.tokens
            if not tokens or tokens[-1] is None or tokens in collections:
                continue
            if any(self._creates(p) for p in self._positions_of(template)):
                collections.add(tokens)
        return items, collections

    def _positions_of(self, template: Template) -> list[int]:
        return [p for path, ps in self.by_path.items() if template.match(path) is not None for p in ps[:4]][:8]

    def _creates(self, position: int) -> bool:
        """A POST answered 2xx with an object that has an id: a collection even when no item path was recorded.
        (A GET that lists objects with ids is not enough on its own: reports list ids they do not own.)"""
        method, status, body = (
            self.interactions[position].request.method,
            self.status(position),
            self.response(position),
        )
        if method != "POST" or not 200 <= status < 300 or not isinstance(body, dict):
            return False
        return "id" in body and as_text(body["id"]) is not None

    def _documented_id(self, tokens: Tokens, events: list[Event]) -> str | None:
        """The id field the OpenAPI document names (`/notes/{slug}`: `slug`; `/users/{user_id}`: `user_id`, else
        `id`), when recorded item bodies carry it."""
        param = self.documented_ids.get(tokens)
        if param is None:
            return None
        bodies = [self.response(p) for p, kind, _ in events if kind == "item" and 200 <= self.status(p) < 300]
        candidates = (param, "id") if param.lower().endswith("id") else (param,)
        return next((c for c in candidates if any(isinstance(b, dict) and c in b for b in bodies)), None)

    def _id_field(self, events: list[Event]) -> str | None:
        """The field holding an item's id: the one equal to the item path's last segment, else `id`."""
        votes: dict[str, int] = {}
        for position, kind, values in events:
            body = self.response(position)
            if kind != "item" or not isinstance(body, dict) or not 200 <= self.status(position) < 300:
                continue
            for key, value in body.items():
                if as_text(value) == values[-1]:
                    votes[key] = votes.get(key, 0) + 1 + (key == "id")
            if len(votes) and sum(votes.values()) > 20:
                break
        if votes:
            return max(votes, key=votes.__getitem__)
        for position, kind, _ in events:
            body = self.response(position)
            shape = list_items(body, "id") if kind == "collection" else None
            created = isinstance(body, dict) and "id" in body and kind == "collection"
            listed = shape is not None and any(isinstance(x, dict) and "id" in x for x in shape[1][:3])
            if (created or listed) and 200 <= self.status(position) < 300:
                return "id"
        return None

    def _walk(self, resource: Resource, events: list[Event]) -> Samples:
        """Everything in recorded order: starting representations, and samples for each rule."""
        found = Samples()
        id_field = resource.id_field
        for position, kind, values in events:
            method = self.interactions[position].request.method.upper()
            status = self.status(position)
            ok = 200 <= status < 300
            if kind == "collection":
                if method == "GET" and ok:
                    self._list_sample(found, position, values, id_field)
                elif method == "POST" and ok and isinstance(self.response(position), dict):
                    created = self.response(position)
                    item_id = as_text(created.get(id_field))
                    sample = self._write(position, values, item_id)
                    sample.location = header_value(self.interactions[position].response.headers, "location")
                    found.creates.append(sample)
                    if item_id is not None:
                        found.touched.add((values, item_id))
                        found.current[(values, item_id)] = created
                elif method != "GET" and 400 <= status < 500:
                    self._refused(found, position, method, status)
                continue
            key = (values[:-1], values[-1])
            if method == "GET":
                body = self.response(position)
                if ok and isinstance(body, dict):
                    found.reads.append(self.interactions[position].index)
                    self._observe(found, key, body, position, full=True)
                elif 400 <= status < 500:
                    found.missing.append(self._write(position, values[:-1], values[-1]))
            elif method in ("PATCH", "PUT") and ok:
                sample = self._write(position, values[:-1], values[-1])
                sample.prior = found.current.get(key)
                if sample.prior is None and key not in found.touched and isinstance(sample.response, dict):
                    found.baseline[key] = sample.response  # never seen before its write: existed, state unknown
                    found.late.append(sample.index)
                found.updates.setdefault(method, []).append(sample)
                found.touched.add(key)
                if isinstance(sample.response, dict):
                    found.current[key] = sample.response
            elif method == "DELETE" and ok:
                found.deletes.append(self._write(position, values[:-1], values[-1]))
                found.touched.add(key)
                found.current.pop(key, None)
            elif 400 <= status < 500 and method != "GET":
                self._refused(found, position, method, status)
        return found

    def _refused(self, found: Samples, position: int, method: str, status: int) -> None:
        """A 4xx answer to a write: validation the model reproduces only with an OpenAPI document's schemas."""
        index = self.interactions[position].index
        found.refused.append(index)
        if status in (400, 422) and self.document is not None:
            found.rejected.append(Rejected(index, method, status, self.request(position), self.response(position),
                                           self.content_type(position)))  # fmt: skip

    def _write(self, position: int, parent: Segments, item_id: str | None) -> WriteSample:
        interaction = self.interactions[position]
        return WriteSample(
            interaction.index, self.status(position), parent, item_id, position, self.response(position),
            self.content_type(position), raw=interaction.response.body,
        )  # fmt: skip

    def _requests(self, samples: list[WriteSample]) -> list[WriteSample]:
        """`spread(samples)` with their request bodies parsed (the position waited in `request` until now)."""
        chosen = spread(samples)
        for sample in chosen:
            if isinstance(sample.request, int):
                sample.request = self.request(sample.request)
        return chosen

    def _list_sample(self, found: Samples, position: int, parent: Segments, id_field: str) -> None:
        body = self.response(position)
        shape = list_items(body, id_field)
        if shape is None:
            return
        interaction = self.interactions[position]
        items = shape[1]
        query = interaction.request.url.partition("?")[2].partition("#")[0]
        found.lists.append(ListSample(interaction.index, query, body, items,
                                      self.content_type(position)))  # fmt: skip
        for item in items:
            if isinstance(item, dict):
                item_id = as_text(item.get(id_field))
                if item_id is not None:
                    self._observe(found, (parent, item_id), item, position, full=False)

    def _observe(self, found: Samples, key: ItemKey, item: dict[str, Any], position: int, full: bool) -> None:
        """An item as a read or list showed it: its starting representation when no write touched it yet."""
        known = found.baseline.get(key)
        if key not in found.touched:
            if known is None or (full and len(item) > len(known)):
                found.baseline[key] = item
                found.current[key] = item
        elif known is None and key not in found.current:
            found.baseline[key] = found.current[key] = item  # first seen only after a write to it
            found.late.append(self.interactions[position].index)

    def _rules(self, resource: Resource, found: Samples) -> None:
        name = resource.name
        for (parent, item_id), item in found.baseline.items():
            resource.baseline.setdefault(parent, {})[item_id] = item
        resource.created_in_recording = {(s.parent, s.item_id) for s in found.creates if s.item_id is not None}
        created = [s for s in found.creates if s.item_id is not None]
        numeric = any(isinstance(s.response.get(resource.id_field), int) for s in created) or any(
            isinstance(item.get(resource.id_field), int) for items in resource.baseline.values()
            for item in list(items.values())[:1]
        )  # fmt: skip
        ids = spread([i for items in resource.baseline.values() for i in items] + [s.item_id or "" for s in created])
        resource.id_style = infer_style(ids, numeric)
        if created and all(isinstance(s.request, dict) and as_text(s.request.get(resource.id_field)) == s.item_id
                           for s in self._requests(created)):  # fmt: skip
            resource.id_style = IdStyle("request", numeric=numeric)
        resource.id_evidence = evidence_list(sorted(found.reads[:12] + [s.index for s in created[:12]]))
        item_fields = {k for item in list(found.baseline.values())[:20] for k in item}
        if found.reads:
            resource.read = ReadRule(f"{name}.read", evidence_list(found.reads))
        if found.lists:
            resource.listing = learn_listing(name, spread(found.lists), resource.id_field, item_fields)
            resource.listing.evidence = evidence_list(resource.listing.evidence)
        if created:
            resource.create = learn_create(name, self._requests(created), resource.id_field, self._item_path(resource))
            if resource.id_style.sequential:
                resource.create.first_number = resource.id_style.number(created[0].item_id or "")
        numbers = [resource.id_style.number(i) for items in resource.baseline.values() for i in items]
        resource.first_free = max([n + 1 for n in numbers if n is not None], default=1)
        if resource.create is not None and resource.create.first_number is not None:
            resource.first_free = max(resource.first_free, resource.create.first_number)
        for method, updates in found.updates.items():
            resource.updates[method] = learn_update(name, method, self._requests(updates))
        if found.deletes:
            resource.delete = learn_delete(name, self._requests(found.deletes))
        if found.missing:
            resource.not_found = learn_not_found(name, self._requests(found.missing))
        if self.document is not None:
            from_document(resource, self.document, self.learned, found.rejected)
        for rule in resource.rules():
            rule.evidence = evidence_list(rule.evidence)
        self.gaps.extend(resource_gaps(resource, found))

    @staticmethod
    def _item_path(resource: Resource) -> Any:
        return lambda parent, item_id: resource.item.fill((*parent, item_id))

    def _parents(self, resources: dict[Tokens, Resource]) -> None:
        by_item = {r.item.tokens: r for r in resources.values()}
        for resource in resources.values():
            tokens = resource.collection.tokens
            last = max((i for i, t in enumerate(tokens) if t is None), default=None)
            if last is not None and tokens[: last + 1] in by_item:
                resource.parent = by_item[tokens[: last + 1]].name


def mcp_gap(interactions: Sequence[Interaction]) -> Gap:
    """MCP calls replay as recorded; the CRUD-shaped tools among them (get_x, list_x, ...) are named."""
    tools: dict[str, list[int]] = {}
    for interaction in interactions:
        url = interaction.request.url
        if url.startswith("mcp://") and "/tools/call/" in url:
            name = unquote(url.rpartition("/tools/call/")[2])
            if CRUD_TOOL.fullmatch(name):
                tools.setdefault(name, []).append(interaction.index)
    if not tools:
        return Gap("MCP tools", "MCP calls replay as recorded: the model covers HTTP only")
    named = ", ".join(sorted(tools)[:8])
    evidence = evidence_list(sorted(i for found in tools.values() for i in found[:2]))
    return Gap("MCP tools", f"CRUD-shaped tools ({named}) are not modelled yet: they replay as recorded", evidence)


def _template_evidence(clustering: Any) -> list[dict[str, Any]]:
    out = []
    for variable in clustering.variables:
        confirmed = variable.confirmed
        out.append({
            "template": variable.template.text,
            "values": variable.values,
            "confirmed_by": None if confirmed is None else {"interaction": confirmed[0], "field": confirmed[1]},
            "joined": variable.joined,
        })  # fmt: skip
    return out
