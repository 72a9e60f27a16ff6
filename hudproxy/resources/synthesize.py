"""Answering from the model: `synthesize(request, state)` for a request no recording matches, and
`apply(request, recorded_response, state)` for a recorded write, so the session's state follows it too.

Sans-IO like the replay engine. A request the model does not cover (no rule for that operation, a query
parameter it does not understand, a body the recordings never showed the shape of) gets None: the caller
answers its usual miss. Every answer carries `X-Hudproxy-Synthesized: <rule>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hudproxy.interaction.model import Request, Response
from hudproxy.resources.bodies import as_text, dumps, json_body, json_type
from hudproxy.resources.listing import OFFSET_PARAMS, PAGE_PARAMS, SIZE_PARAMS
from hudproxy.resources.model import ID_MARK, ListRule, Resource, Route, Rule
from hudproxy.resources.state import Item, ResourceState
from hudproxy.resources.templates import Segments

SYNTHESIZED_HEADER = "X-Hudproxy-Synthesized"
REASONS = {status.value: status.phrase for status in HTTPStatus}


@dataclass(frozen=True)
class Synthesized:
    """The answer, the rule that made it and the interactions that taught that rule (for the journal)."""

    response: Response
    rule: str
    evidence: list[int]


def synthesize(request: Request, state: ResourceState) -> Synthesized | None:
    """The model's answer, or None with the reason in `state.why` (for `inspect --why` and logs)."""
    route = state.model.route(request)
    if route is None:
        return miss(state, "no learned resource has this path")
    method = request.method.upper()
    missing_parent = _missing_parent(route, state)
    if missing_parent is not None:
        return missing_parent or miss(
            state, f"its parent does not exist and no {route.resource.parent} 404 was recorded"
        )
    if route.kind == "collection":
        if method == "GET":
            return _list(request, route, state)
        if method == "POST":
            return _create(request, route, state)
        return miss(state, f"no {method} {route.resource.collection.text} was recorded")
    assert route.item_id is not None
    if method == "GET":
        return _read(request, route, state)
    if method == "DELETE":
        return _delete(route, state)
    if method in route.resource.updates:
        return _update(request, route, state, method)
    return miss(state, f"no {method} {route.resource.item.text} was recorded")


def miss(state: ResourceState, reason: str) -> None:
    """Not covered: say why on the state, answer None."""
    state.why = reason
    return None


def apply(request: Request, recorded: Response, state: ResourceState) -> None:
    """A recorded write was replayed: put what it did into the session's state."""
    if not 200 <= recorded.status < 300 or not request.is_write:
        return
    route = state.model.route(request)
    if route is None:
        return
    resource, method = route.resource, request.method.upper()
    body = json_body(recorded.headers, recorded.body)
    if route.kind == "collection":
        if method == "POST" and isinstance(body, dict):
            item_id = as_text(body.get(resource.id_field))
            if item_id is not None:
                state.put(resource, route.parent, item_id, body, synthetic=False)
                state.saw_id(resource, item_id)
        return
    assert route.item_id is not None
    if method == "DELETE":
        state.remove(resource, route.parent, route.item_id, synthetic=False)
    elif method in ("PATCH", "PUT"):
        if isinstance(body, dict):
            state.put(resource, route.parent, route.item_id, body, synthetic=False)
            return
        current = state.get(resource, route.parent, route.item_id)
        sent = json_body(request.headers, request.body)
        if current is not None and isinstance(sent, dict):
            state.put(resource, route.parent, route.item_id, {**current, **sent}, synthetic=False)


# ---------------------------------------------------------------- answers


def respond(rule: Rule, status: int, data: Any, content_type: str | None = "application/json",
            extra: tuple[tuple[str, str], ...] = ()) -> Synthesized:  # fmt: skip
    body = data if isinstance(data, bytes) else dumps(data)
    typed = (("content-type", content_type),) if content_type and body else ()
    headers = (*typed, ("content-length", str(len(body))), *extra, (SYNTHESIZED_HEADER, rule.name))
    return Synthesized(Response(status, REASONS.get(status, ""), headers, body), rule.name, rule.evidence)


def not_found(resource: Resource, item_id: str) -> Synthesized | None:
    rule = resource.not_found
    if rule is None:
        return None
    body = rule.body if isinstance(rule.body, bytes) else _unmark(rule.body, item_id)
    return respond(rule, rule.status, body, rule.content_type)


def _unmark(data: Any, item_id: str) -> Any:
    if isinstance(data, str):
        return data.replace(ID_MARK, item_id)
    if isinstance(data, dict):
        return {k: _unmark(v, item_id) for k, v in data.items()}
    if isinstance(data, list):
        return [_unmark(v, item_id) for v in data]
    return data


def _missing_parent(route: Route, state: ResourceState) -> Synthesized | bool | None:
    """For a nested route: the parent's not-found answer when the parent does not exist (False when that answer
    was never recorded: a miss), else None."""
    name = route.resource.parent
    if name is None:
        return None
    parent = state.model.by_name[name]
    count = parent.item.variables
    values = route.parent[:count]
    if len(values) != count or state.get(parent, values[:-1], values[-1]) is not None:
        return None
    return not_found(parent, values[-1]) or False


def _read(request: Request, route: Route, state: ResourceState) -> Synthesized | None:
    resource = route.resource
    if resource.read is None:
        return miss(state, f"no GET {resource.item.text} was recorded")
    if request.query_string:
        return miss(state, "a query on an item read was never recorded")
    item = state.get(resource, route.parent, route.item_id or "")
    if item is None:
        return not_found(resource, route.item_id or "")
    return respond(resource.read, resource.read.status, item, resource.read.content_type)


def _delete(route: Route, state: ResourceState) -> Synthesized | None:
    resource, item_id = route.resource, route.item_id or ""
    rule = resource.delete
    if rule is None:
        return miss(state, f"no DELETE {resource.item.text} was recorded")
    if state.get(resource, route.parent, item_id) is None:
        return not_found(resource, item_id)
    state.remove(resource, route.parent, item_id)
    return respond(rule, rule.status, rule.body, rule.content_type)


def _fits(sent: dict[str, Any], required: dict[str, str]) -> bool:
    """The body has every field the recordings always had, each of the same JSON type."""
    return all(name in sent and json_type(sent[name]) == kind for name, kind in required.items())


def _shape(required: dict[str, str]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in required.items())


def _typed_id(resource: Resource, item_id: str) -> Any:
    return int(item_id) if resource.id_style.numeric and item_id.isdigit() else item_id


def _create(request: Request, route: Route, state: ResourceState) -> Synthesized | None:
    resource = route.resource
    rule = resource.create
    sent = json_body(request.headers, request.body)
    if rule is None:
        return miss(state, f"no POST {resource.collection.text} was recorded")
    if not isinstance(sent, dict) or request.query_string:
        return miss(state, "the recorded creates sent a JSON object and no query")
    if not _fits(sent, rule.required):
        return miss(state, f"every recorded create sent {_shape(rule.required)}")
    if resource.id_style.kind == "request":
        item_id = as_text(sent.get(resource.id_field))
        if item_id is None or state.get(resource, route.parent, item_id) is not None:
            return miss(state, f"ids come from the request: {resource.id_field!r} missing or already taken")
    elif resource.id_style.kind == "unknown":
        return miss(state, "the style of new ids was not learned")
    else:
        item_id = state.new_id(resource)
    item: Item = {}
    for name, role in rule.fields.items():
        if role.kind == "id":
            item[name] = _typed_id(resource, item_id)
        elif role.kind == "request":
            item[name] = sent.get(name, role.value)
        elif role.kind == "parent":
            item[name] = _parent_value(state, resource, route.parent, role.value)
        else:
            item[name] = role.value
    state.put(resource, route.parent, item_id, item)
    extra: tuple[tuple[str, str], ...] = ()
    if rule.location is not None:
        extra = (("location", rule.location + resource.item.fill((*route.parent, item_id))),)
    return respond(rule, rule.status, item, rule.content_type, extra)


def _parent_value(state: ResourceState, resource: Resource, parent: Segments, position: int) -> Any:
    value = parent[position]
    owner = state.model.by_name.get(resource.parent or "")
    return _typed_id(owner, value) if owner is not None else value


def _update(request: Request, route: Route, state: ResourceState, method: str) -> Synthesized | None:
    resource, item_id = route.resource, route.item_id or ""
    rule = resource.updates[method]
    sent = json_body(request.headers, request.body)
    if not isinstance(sent, dict) or request.query_string:
        return miss(state, f"the recorded {method}s sent a JSON object and no query")
    if not _fits(sent, rule.required):
        return miss(state, f"every recorded {method} sent {_shape(rule.required)}")
    item = state.get(resource, route.parent, item_id)
    if item is None:
        return not_found(resource, item_id)
    for name, value in sent.items():  # a type the item never had would be the server's 422: not modelled
        if name in item and item[name] is not None and json_type(value) != json_type(item[name]):
            return miss(state, f"{name!r} is a {json_type(item[name])} in the recording, not a {json_type(value)}")
    server_kept = {resource.id_field}
    if rule.semantics == "merge":
        new = {**item, **{k: v for k, v in sent.items() if k in item and k not in server_kept}}
    else:
        new = {k: (sent[k] if k in sent and k not in server_kept else v) for k, v in item.items()}
    new.update(rule.touched)
    state.put(resource, route.parent, item_id, new)
    return respond(rule, rule.status, new if rule.returns_body else b"", rule.content_type)


# ---------------------------------------------------------------- lists


@dataclass
class Page:
    number: int = 1
    size: int | None = None
    offset: int = 0


def _list(request: Request, route: Route, state: ResourceState) -> Synthesized | None:
    resource = route.resource
    rule = resource.listing
    if rule is None:
        return miss(state, f"no GET {resource.collection.text} was recorded")
    query = parse_qsl(request.query_string, keep_blank_values=True)
    page = _page(query, rule)
    if page is None:
        return miss(state, "paging the recording never showed (a parameter, or a value that is not a number)")
    items = state.items(resource, route.parent)
    known_fields = set(items[0][1] if items else rule.fields or ()) | set(rule.filters)
    filters: list[tuple[str, str]] = []
    for key, value in query:
        if key in (rule.pagination.page_param, rule.pagination.size_param, rule.pagination.offset_param):
            continue
        if key not in known_fields:  # the live API might filter, sort or refuse: not guessed
            return miss(state, f"query parameter {key!r} is neither paging nor a field of {resource.name}")
        filters.append((rule.filters.get(key, key), value))
    chosen = [item for _, item in items if all(_equal(item.get(f), v) for f, v in filters)]
    size = page.size or rule.pagination.default_size or max(len(chosen), 1)
    start = page.offset if rule.pagination.style == "offset" else (page.number - 1) * size
    shown = chosen[start : start + size] if rule.pagination.style != "none" else chosen
    if rule.fields:
        shown = [{k: item[k] for k in rule.fields if k in item} for item in shown]
    more = rule.pagination.style != "none" and start + size < len(chosen)
    if rule.shape == "array":
        return respond(rule, rule.status, shown, rule.content_type)
    body: dict[str, Any] = {}
    for key in rule.envelope_order:
        role = rule.roles.get(key)
        if key == rule.items_key:
            body[key] = shown
        elif role == "page":
            body[key] = page.number
        elif role == "size":
            body[key] = size
        elif role == "offset":
            body[key] = start
        elif role == "total":
            body[key] = len(chosen)
        elif role == "next_page":
            body[key] = page.number + 1 if more else None
        elif role == "next_url":
            body[key] = _next_url(rule, route, query, page, size, start) if more else None
        else:
            body[key] = rule.constants.get(key)
    return respond(rule, rule.status, body, rule.content_type)


def _page(query: list[tuple[str, str]], rule: ListRule) -> Page | None:
    """The page asked for; None when a paging value is not a number the API would take."""
    paging = rule.pagination
    page = Page()
    for key, value in query:
        if key not in (paging.page_param, paging.size_param, paging.offset_param):
            if key in PAGE_PARAMS + SIZE_PARAMS + OFFSET_PARAMS and key not in rule.filters:
                return None  # paging the recording never showed
            continue
        if not value.isdigit():
            return None
        number = int(value)
        if key == paging.page_param:
            if number < 1:
                return None
            page.number = number
        elif key == paging.size_param:
            if number < 1:
                return None
            page.size = number
        else:
            page.offset = number
    return page


def _equal(value: Any, wanted: str) -> bool:
    text = as_text(value)
    if text == wanted:
        return True
    if isinstance(value, bool):
        return wanted.lower() in (("true", "1") if value else ("false", "0"))
    if isinstance(value, int | float) and text is not None:
        try:
            return float(wanted) == float(value)
        except ValueError:
            return False
    return False


def _next_url(rule: ListRule, route: Route, query: list[tuple[str, str]], page: Page, size: int, start: int) -> str:
    """The next page's URL as the API wrote it: the request's other parameters, then the paging ones in the
    recorded order."""
    paging = rule.pagination
    values = {paging.page_param: page.number + 1, paging.size_param: size, paging.offset_param: start + size}
    names = paging.next_params or [n for n in (paging.page_param, paging.offset_param, paging.size_param) if n]
    kept = [(k, v) for k, v in query if k not in values]
    paged = [(name, str(values[name])) for name in names if name in values]
    path = route.resource.collection.fill(route.parent)
    return f"{paging.next_prefix}{path}?{urlencode(kept + paged)}"
