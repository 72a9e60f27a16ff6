"""What the OpenAPI document adds to a resource the recording did not show (`--openapi FILE`): the request body
schemas writes are checked against (and the answer to a body that breaks one), the fields a server sets on create
(readOnly properties, defaults), and rules for documented operations never recorded. A resource the document
declares but nobody recorded is built from the document alone: it starts empty and its creates, reads, lists,
updates and deletes follow the schemas (`source: openapi` in `inspect --model`).
"""

from __future__ import annotations

from typing import Any

from hudproxy.resources.ids import IdStyle
from hudproxy.resources.invalid import InvalidRule, Rejected, learn_invalid
from hudproxy.resources.model import (
    ID_MARK,
    CreateRule,
    DeleteRule,
    FieldRole,
    ListRule,
    NotFoundRule,
    ReadRule,
    Resource,
    UpdateRule,
)
from hudproxy.resources.schemas import Document, server_value
from hudproxy.resources.templates import Template, Tokens, singular

FROM_DOCUMENT = "from the OpenAPI document: no such request was recorded"
TOTAL_NAMES = ("count", "total", "total_count", "totalCount")


def item_paths(document: Document) -> list[Tokens]:
    """Documented item paths: a `{param}` last, under a literal segment (`/labels/{label_id}`)."""
    return [t for t in document.params if len(t) >= 2 and t[-1] is None and t[-2] is not None]


def declared_resource(document: Document, item: Tokens, learned: list[Resource]) -> Resource:
    """A resource from the document alone (no interaction recorded): empty at the start."""
    collection = item[:-1]
    props = document.properties(_item_schema(document, collection, item))
    param = (document.params.get(item) or ["id"])[-1]
    id_field = next((c for c in (param, "id") if c in props), "id")
    name = ".".join(t for t in collection if t is not None)
    resource = Resource(
        name, Template(collection), Template(item), id_field, _id_style(document, collection, props.get(id_field) or {})
    )
    resource.source = "openapi"
    from_document(resource, document, learned, [])
    return resource


def _id_style(document: Document, collection: Tokens, prop: dict[str, Any]) -> IdStyle:
    kind = prop.get("type")
    if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
        return IdStyle("integer", numeric=True)
    if prop.get("format") == "uuid":
        return IdStyle("uuid")
    request = document.resolve(document.request_schema(collection, "POST") or {})
    if prop and not prop.get("readOnly") and prop in (request.get("properties") or {}).values():
        return IdStyle("request")
    return IdStyle("integer")


def _item_schema(document: Document, collection: Tokens, item: Tokens) -> dict[str, Any] | None:
    for tokens, method in ((item, "GET"), (collection, "POST"), (item, "PUT"), (item, "PATCH")):
        found = document.response(tokens, method)
        if found is not None and found[1] is not None and found[1].get("properties"):
            return found[1]
    return None


def from_document(resource: Resource, document: Document, learned: list[Resource], rejected: list[Rejected]) -> None:
    """Put into `resource` what the document says and the recording did not show."""
    collection, item, name = resource.collection.tokens, resource.item.tokens, resource.name
    for method, tokens in (("POST", collection), ("PUT", item), ("PATCH", item)):
        validator = document.validator(tokens, method)
        if validator is not None:
            resource.validators[method] = validator
    if resource.validators:
        resource.invalid = learn_invalid(name, resource.validators, rejected)
    schema = _item_schema(document, collection, item)
    props = document.properties(schema)
    request = document.properties(document.resolve(document.request_schema(collection, "POST") or {}))
    if resource.read is None and document.has(item, "GET"):
        status = (document.response(item, "GET") or (200, None))[0]
        resource.read = ReadRule(f"{name}.read", status=status, notes=[FROM_DOCUMENT])
    if resource.listing is None and document.has(collection, "GET"):
        resource.listing = _listing(document, resource, props)
    if resource.create is None and document.has(collection, "POST"):
        status = (document.response(collection, "POST") or (201, None))[0]
        resource.create = CreateRule(f"{name}.create", status=status, notes=[FROM_DOCUMENT])
    if resource.create is not None:
        _server_fields(resource.create, resource.id_field, props, request)
    for method, semantics in (("PUT", "replace"), ("PATCH", "merge")):
        if method not in resource.updates and document.has(item, method):
            status, body = document.response(item, method) or (200, None)
            resource.updates[method] = UpdateRule(f"{name}.{method.lower()}", notes=[FROM_DOCUMENT], method=method,
                                                  semantics=semantics, status=status,
                                                  returns_body=body is not None or status != 204)  # fmt: skip
    if resource.delete is None and document.has(item, "DELETE"):
        status = (document.response(item, "DELETE") or (204, None))[0]
        resource.delete = DeleteRule(f"{name}.delete", status=status, notes=[FROM_DOCUMENT])
    if resource.not_found is None and resource.read is not None:
        resource.not_found = _not_found(document, resource, learned)


def share_style(resources: list[Resource]) -> None:
    """A resource whose recording shows no rejected write answers in the style another resource's recorded
    rejection showed (one API, one validation style), before the compact default."""
    styled = next((r.invalid for r in resources if isinstance(r.invalid, InvalidRule) and r.invalid.entry), None)
    if styled is None:
        return
    for resource in resources:
        rule = resource.invalid
        if isinstance(rule, InvalidRule) and rule.entry is None:
            rule.envelope, rule.list_path, rule.entry = styled.envelope, styled.list_path, styled.entry
            rule.status, rule.content_type, rule.evidence = styled.status, styled.content_type, list(styled.evidence)
            rule.notes.append(f"in the style of the rejection recorded for {styled.name.removesuffix('.invalid')}")


def _listing(document: Document, resource: Resource, props: dict[str, dict[str, Any]]) -> ListRule:
    tokens = resource.collection.tokens
    status, schema = document.response(tokens, "GET") or (200, None)
    rule = ListRule(f"{resource.name}.list", status=status, notes=[FROM_DOCUMENT])
    rule.filters = {q: q for q in document.query_params(tokens, "GET") if q in props}
    envelope = document.properties(schema) if schema is not None and schema.get("type") != "array" else {}
    items_key = next((k for k, p in envelope.items() if p.get("type") == "array"), None)
    if items_key is not None:
        rule.shape, rule.items_key, rule.envelope_order = "envelope", items_key, list(envelope)
        rule.roles = {k: "total" for k in envelope if k in TOTAL_NAMES}
    return rule


def _server_fields(rule: CreateRule, id_field: str, props: dict[str, dict[str, Any]],
                   request: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    """The fields the schema says a created item has that the recorded creates did not show: readOnly ones
    set by the server, defaults for the rest."""
    added = []
    shown = props or ({} if rule.evidence else request)  # a recorded create's fields are known but the server's
    for field_name, prop in shown.items():
        if field_name in rule.fields:
            continue
        asked = request.get(field_name, {})
        if field_name == id_field:
            rule.fields[field_name] = FieldRole("id")
        elif prop.get("readOnly"):
            rule.fields[field_name] = FieldRole("server", server_value(prop))
        elif "default" in asked or "default" in prop:
            rule.fields[field_name] = FieldRole("request", asked.get("default", prop.get("default")), True)
        else:
            rule.fields[field_name] = FieldRole("request")
        added.append(field_name)
    if added and rule.evidence:
        rule.notes.append(f"fields the recorded creates never showed, from the OpenAPI schema: {', '.join(added)}")


def _not_found(document: Document, resource: Resource, learned: list[Resource]) -> NotFoundRule:
    """The documented 404 example; else a recorded resource's 404 in the API's words (its noun swapped for this
    one's); else a compact JSON 404."""
    example = document.example(resource.item.tokens, "GET", 404)
    rule = NotFoundRule(f"{resource.name}.not-found", status=404, notes=[FROM_DOCUMENT])
    if example is not None:
        rule.body = example
        return rule
    noun = singular(resource.name.rpartition(".")[2])
    for other in learned:
        found = other.not_found
        if found is not None and other.mcp_server is None and not isinstance(found.body, bytes):
            theirs = singular(other.name.rpartition(".")[2])
            rule.body = _swap(found.body, theirs, noun)
            rule.status, rule.content_type = found.status, found.content_type
            rule.evidence = list(found.evidence)
            rule.notes.append(f"in the words of the recorded {other.name} 404 ({theirs!r} read as {noun!r})")
            return rule
    rule.body = {"error": "not_found", "message": f"{noun} {ID_MARK} not found"}
    return rule


def _swap(data: Any, theirs: str, ours: str) -> Any:
    if isinstance(data, str):
        return data.replace(theirs, ours)
    if isinstance(data, dict):
        return {k: _swap(v, theirs, ours) for k, v in data.items()}
    if isinstance(data, list):
        return [_swap(v, theirs, ours) for v in data]
    return data
