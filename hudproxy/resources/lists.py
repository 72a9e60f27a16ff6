"""Answering a list from the session's items: the filters (equal fields), the page asked for (page number or
offset), and the recorded representation rebuilt (a bare array, or the envelope with its totals and next link)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hudproxy.interaction.model import Request
from hudproxy.resources.answers import Synthesized, miss, respond
from hudproxy.resources.bodies import as_text
from hudproxy.resources.listing import OFFSET_PARAMS, PAGE_PARAMS, SIZE_PARAMS
from hudproxy.resources.model import ListRule, Route
from hudproxy.resources.state import ResourceState


@dataclass
class Page:
    number: int = 1
    size: int | None = None
    offset: int = 0


def answer_list(request: Request, route: Route, state: ResourceState) -> Synthesized | None:
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
