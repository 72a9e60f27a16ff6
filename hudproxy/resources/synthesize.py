"""Answering from the model: `synthesize(request, state)` for a request no recording matches, and
`apply(request, recorded_response, state)` for a recorded write, so the session's state follows it too.

Sans-IO like the replay engine. A request the model does not cover (no rule for that operation, a query
parameter it does not understand, a body the recordings never showed the shape of) gets None: the caller
answers its usual miss. Every answer carries `X-Hudproxy-Synthesized: <rule>`.
"""

from __future__ import annotations

from typing import Any

from hudproxy.interaction.model import Request, Response
from hudproxy.resources.answers import SYNTHESIZED_HEADER, Synthesized, miss, respond
from hudproxy.resources.bodies import NO_JSON, as_text, json_body, json_type
from hudproxy.resources.invalid import InvalidRule, invalid_body
from hudproxy.resources.lists import answer_list
from hudproxy.resources.model import ID_MARK, Resource, Route
from hudproxy.resources.state import Item, ResourceState
from hudproxy.resources.templates import Segments

READ_CACHE = 8_192  # serialised reads kept per resource (shared by every session; bounds the memory)

__all__ = ["SYNTHESIZED_HEADER", "Synthesized", "apply", "synthesize"]


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
            return answer_list(request, route, state)
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
    key = (route.parent, route.item_id or "")
    cached = resource.reads.get(key)
    if cached is not None and cached[0] is item:  # the same item object: unchanged since it was serialised
        return cached[1]
    found = respond(resource.read, resource.read.status, item, resource.read.content_type)
    if len(resource.reads) >= READ_CACHE:
        resource.reads.clear()
    resource.reads[key] = (item, found)
    return found


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
    refused = _refused(resource, "POST", sent)
    if refused is not None:
        return refused
    if not isinstance(sent, dict) or request.query_string:
        return miss(state, "the recorded creates sent a JSON object and no query")
    if "POST" not in resource.validators and not _fits(sent, rule.required):
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


def _refused(resource: Resource, method: str, sent: object) -> Synthesized | None:
    """With an OpenAPI document: the validation-error answer when the JSON body breaks the operation's schema."""
    validator = resource.validators.get(method)
    rule = resource.invalid
    if validator is None or not isinstance(rule, InvalidRule) or sent is NO_JSON:
        return None
    problems = validator.problems(sent)
    if not problems:
        return None
    return respond(rule, rule.status, invalid_body(rule, problems), rule.content_type)


def _parent_value(state: ResourceState, resource: Resource, parent: Segments, position: int) -> Any:
    value = parent[position]
    owner = state.model.by_name.get(resource.parent or "")
    return _typed_id(owner, value) if owner is not None else value


def _update(request: Request, route: Route, state: ResourceState, method: str) -> Synthesized | None:
    resource, item_id = route.resource, route.item_id or ""
    rule = resource.updates[method]
    sent = json_body(request.headers, request.body)
    refused = _refused(resource, method, sent)  # a server checks the body before it looks the item up
    if refused is not None:
        return refused
    if not isinstance(sent, dict) or request.query_string:
        return miss(state, f"the recorded {method}s sent a JSON object and no query")
    checked = method in resource.validators  # the document's schema decides what a valid body is
    if not checked and not _fits(sent, rule.required):
        return miss(state, f"every recorded {method} sent {_shape(rule.required)}")
    item = state.get(resource, route.parent, item_id)
    if item is None:
        return not_found(resource, item_id)
    for name, value in sent.items() if not checked else ():  # without a schema a type the item never had
        # would be the server's 422: not modelled
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
