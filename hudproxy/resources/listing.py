"""Learning a collection's list representation: bare array or envelope, its pagination, its filters.

Envelope fields are given roles by what the recorded values equal: the page or size asked for, the offset, a
total, the next page (a number, or a URL whose query the model rebuilds in the recorded parameter order).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hudproxy.resources.bodies import as_text
from hudproxy.resources.ids import natural_key
from hudproxy.resources.model import ListRule, Pagination

PAGE_PARAMS = ("page", "page_number", "pageNumber", "p")
SIZE_PARAMS = ("per_page", "page_size", "pageSize", "perPage", "limit", "size")
OFFSET_PARAMS = ("offset", "skip", "start")
TOTAL_FIELDS = ("total", "count", "total_count", "totalCount", "total_items", "totalItems", "total_results")
NEXT_FIELDS = ("next", "next_page", "nextPage", "next_url", "nextUrl", "next_link")
PAGING = frozenset(PAGE_PARAMS + SIZE_PARAMS + OFFSET_PARAMS)


@dataclass
class ListSample:
    """One recorded 2xx list: where it was, what was asked, what came back."""

    index: int
    query_string: str
    body: Any
    items: list[Any]
    content_type: str

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)


def list_items(body: Any, id_field: str) -> tuple[str | None, list[Any]] | None:
    """(items key or None for a bare array, items) when `body` is a list representation, else None."""
    if isinstance(body, list):
        return None, body
    if not isinstance(body, dict):
        return None
    candidates = [k for k, v in body.items() if isinstance(v, list)]
    if len(candidates) > 1:  # several lists: the one whose entries carry the id
        candidates = [k for k in candidates if any(isinstance(x, dict) and id_field in x for x in body[k][:3])]
    if len(candidates) != 1:
        return None
    return candidates[0], body[candidates[0]]


def learn_listing(name: str, samples: list[ListSample], id_field: str, item_fields: set[str]) -> ListRule:
    last = samples[-1]
    rule = ListRule(f"{name}.list", [s.index for s in samples], content_type=last.content_type)
    shape = list_items(last.body, id_field)
    rule.items_key = shape[0] if shape else None
    rule.shape = "envelope" if rule.items_key else "array"
    rule.pagination = _pagination(samples)
    if rule.shape == "envelope":
        _envelope_roles(rule, samples)
    rule.filters = _filters(rule, samples, item_fields)
    rule.order = "natural" if all(_natural(s.items, id_field) for s in samples) else "recorded"
    listed = [set(x) for s in samples for x in s.items if isinstance(x, dict)]
    if listed and item_fields and all(keys == listed[0] for keys in listed) and listed[0] < item_fields:
        first = next(x for s in samples for x in s.items if isinstance(x, dict))
        rule.fields = list(first)
        rule.notes.append(f"list entries show only {', '.join(rule.fields)} (a read shows more)")
    return rule


def _natural(items: list[Any], id_field: str) -> bool:
    ids = [as_text(x.get(id_field)) or "" for x in items if isinstance(x, dict)]
    keys = [natural_key(i) for i in ids]
    return keys == sorted(keys)


def _param(query: list[tuple[str, str]], names: tuple[str, ...]) -> tuple[str, int] | None:
    for key, value in query:
        if key in names and value.isdigit():
            return key, int(value)
    return None


def _pagination(samples: list[ListSample]) -> Pagination:
    paging = Pagination()
    for sample in samples:
        page, size, offset = (_param(sample.query, names) for names in (PAGE_PARAMS, SIZE_PARAMS, OFFSET_PARAMS))
        if page:
            paging.style, paging.page_param = "page", page[0]
        if offset:
            paging.style, paging.offset_param = "offset", offset[0]
        if size:
            paging.size_param = size[0]
        if isinstance(sample.body, dict):
            for key in NEXT_FIELDS:
                found = sample.body.get(key)
                if isinstance(found, str) and "?" in found:
                    _learn_next_url(paging, found)
    if paging.style == "none" and paging.size_param:
        paging.style = "offset" if paging.offset_param or paging.next_params else "page"
    if paging.style == "offset" and not paging.offset_param:
        paging.offset_param = next((p for p in paging.next_params if p in OFFSET_PARAMS), "offset")
    if paging.style == "page" and not paging.page_param:
        paging.page_param = next((p for p in paging.next_params if p in PAGE_PARAMS), "page")
    paging.default_size = _default_size(samples, paging)
    return paging


def _learn_next_url(paging: Pagination, url: str) -> None:
    parts = urlsplit(url)
    paging.next_prefix = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if k in PAGING]
    paging.next_params = names
    for name in names:
        if name in OFFSET_PARAMS:
            paging.style, paging.offset_param = "offset", name
        elif name in PAGE_PARAMS and paging.style != "offset":
            paging.style, paging.page_param = "page", name
        elif name in SIZE_PARAMS:
            paging.size_param = name


def _default_size(samples: list[ListSample], paging: Pagination) -> int | None:
    """The page size when none is asked: an envelope field saying it, or a full page that had a next one."""
    for sample in samples:
        if paging.size_param and any(k == paging.size_param for k, _ in sample.query):
            continue
        if isinstance(sample.body, dict):
            for key in SIZE_PARAMS:
                if isinstance(sample.body.get(key), int):
                    return int(sample.body[key])
            if any(sample.body.get(key) not in (None, "", False) for key in NEXT_FIELDS):
                return len(sample.items)
    return None


def _envelope_roles(rule: ListRule, samples: list[ListSample]) -> None:
    paging = rule.pagination
    envelopes = [s for s in samples if isinstance(s.body, dict)]
    rule.envelope_order = list(envelopes[-1].body)
    for key in rule.envelope_order:
        if key == rule.items_key:
            continue
        possible: set[str] | None = None
        for sample in envelopes:
            if key not in sample.body:
                continue
            roles = _roles_of(key, sample.body[key], sample, paging)
            possible = roles if possible is None else possible & roles
        for role in ("page", "size", "offset", "total", "next_page", "next_url"):
            if possible and role in possible:
                rule.roles[key] = role
                break
        else:
            values = [s.body[key] for s in envelopes if key in s.body]
            rule.roles[key] = "constant" if all(v == values[0] for v in values) else "recorded"
            if rule.roles[key] == "recorded":
                rule.notes.append(f"envelope field {key!r}: its meaning was not learned; the last value is kept")
        if rule.roles[key] in ("constant", "recorded"):
            rule.constants[key] = envelopes[-1].body[key]


def _roles_of(key: str, value: Any, sample: ListSample, paging: Pagination) -> set[str]:
    query = dict(sample.query)
    size = _int(query.get(paging.size_param or "")) or paging.default_size
    page = _int(query.get(paging.page_param or "")) or 1
    offset = _int(query.get(paging.offset_param or "")) or 0
    roles: set[str] = set()
    if isinstance(value, int) and not isinstance(value, bool):
        if value == page and paging.style == "page":
            roles.add("page")
        if size is not None and value == size:
            roles.add("size")
        if value == offset and paging.style == "offset":
            roles.add("offset")
        if key in TOTAL_FIELDS and value >= len(sample.items):
            roles.add("total")
    if key in NEXT_FIELDS:
        if value is None or (isinstance(value, int) and value == page + 1):
            roles.add("next_page")
        if value is None or (isinstance(value, str) and "?" in value):
            roles.add("next_url")
    return roles


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _filters(rule: ListRule, samples: list[ListSample], item_fields: set[str]) -> dict[str, str]:
    """Query params (not paging) whose value every returned item carries in the same-named field; where list
    entries leave that field out, a field that full items (reads) have is taken on trust."""
    found: dict[str, str] = {}
    for sample in samples:
        for key, value in sample.query:
            if key in PAGING:
                continue
            shown = [x for x in sample.items if isinstance(x, dict) and key in x]
            if shown and len(shown) == len(sample.items) and all(as_text(x[key]) == value for x in shown):
                found.setdefault(key, key)
            elif not shown and key in item_fields:
                found.setdefault(key, key)
                rule.notes.append(f"filter {key!r}: list entries do not show it; taken as an equal-field filter")
            else:
                rule.notes.append(f"query parameter {key!r} (interaction {sample.index}) is not an equal-field filter")
    return found
