"""MCP tools shaped like CRUD (`get_x`, `list_xs`, `create_x`, `update_x`, `delete_x`) as resources.

A recorded `tools/call` is an interaction `MCP mcp://<server>/tools/call/<tool>` whose body is the arguments and
whose response holds the JSON-RPC result (see hudproxy.interaction.mcp). A tool joins a resource when its result
carries JSON (a text content block holding JSON, or `structuredContent`) and, for get/update/delete, an id
argument (`<x>_id` or `id`). The resource is an ordinary `Resource` (reached by tool name, never by HTTP path), so
a session's changes live in the same copy-on-write `ResourceState` and show in `state()` / `state_diff()`.
A CRUD-named tool without that evidence is a gap: it replays as recorded.

Annotations from a recorded `tools/list` refine this: `readOnlyHint` must agree with the name; an `update_x`
with `idempotentHint: true` replaces (PUT-like: a field not given goes back to its default, from the tool's
inputSchema or the create's); a tool of another name (`remove_x`) that is `destructiveHint: true`, not read-only,
and was only ever called with the id is a delete; a `delete_x` annotated `destructiveHint: false` stays recorded.
A `list_x` whose results carry a next cursor (`nextCursor`) and whose calls send one back (`cursor`) pages the
session's items the same way. Where the recording does not show these, the model says so in the rule's notes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from hudproxy.interaction.mcp import JSON_HEADERS, canonical
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.resources.answers import SYNTHESIZED_HEADER, Synthesized, miss
from hudproxy.resources.bodies import as_text
from hudproxy.resources.ids import infer_style
from hudproxy.resources.model import ID_MARK, Gap, Resource, Rule, evidence_list
from hudproxy.resources.state import Item, ResourceState
from hudproxy.resources.templates import Template, singular

CRUD_TOOL = re.compile(r"(get|list|create|update|delete)_([A-Za-z0-9_]+)")
OTHER_TOOL = re.compile(r"([a-z]+)_([A-Za-z0-9_]+)")
CURSOR_ARGS = ("cursor", "page_token", "pageToken", "after", "next_cursor")
NEXT_KEYS = ("nextCursor", "next_cursor", "next_page_token", "nextPageToken", "cursor")
TOOLS_CALL = "/tools/call/"
WRITES = ("create", "update", "delete")
NO_PARENT: tuple[str, ...] = ()
ESCAPED_MARK = json.dumps(ID_MARK)[1:-1]  # the id placeholder as it reads inside JSON text


@dataclass
class ToolRule(Rule):
    """One CRUD tool: what it does to the resource and how its result is shaped (as recorded)."""

    tool: str = ""
    op: str = "get"  # get | list | create | update | delete
    id_arg: str | None = None
    # text: JSON in a text block | structured: structuredContent (the JSON text beside it) | wrapped: the text
    # block again as structuredContent {"result": text} (what the SDK sends for a tool returning str)
    shape: str = "text"
    items_key: str | None = None  # list: the envelope key holding the items (None: a bare array)
    defaults: dict[str, Any] | None = None  # create: fields the server set that the arguments did not give
    missing: Any = None  # get/update/delete: the recorded isError result for an unknown id ({id} marked)
    done: Any = None  # delete: the recorded result ({id} marked)
    semantics: str = "merge"  # update: merge | replace (idempotentHint: true)
    replace_defaults: dict[str, Any] | None = None  # update (replace): a field not given -> this value
    cursor_arg: str | None = None  # list: the argument a next page's cursor goes back in
    next_key: str | None = None  # list: the result key holding the next cursor
    page_size: int | None = None  # list: items on a recorded page that had a next one
    envelope_order: list[str] | None = None  # list: the recorded result's keys in order

    def describe(self) -> str:
        where = {"structured": "structuredContent", "text": "JSON in a text block",
                 "wrapped": "JSON in a text block (and as structuredContent.result)"}[self.shape]  # fmt: skip
        how = "merges its arguments into" if self.semantics == "merge" else "replaces"
        paged = f", {self.page_size} per page by {self.cursor_arg}/{self.next_key}" if self.page_size else ""
        does = {"get": "reads an item by " + str(self.id_arg), "list": "lists the items" + paged,
                "create": "creates an item (new id)", "update": f"{how} item {self.id_arg}",
                "delete": f"removes item {self.id_arg}"}[self.op]  # fmt: skip
        missing = "; an unknown id → the recorded isError result" if self.missing is not None else ""
        return f"MCP tool {self.tool} {does} → {where}{missing}"


def tool_of(request: Request) -> tuple[str, str] | None:
    url = request.url
    if not url.startswith("mcp://") or TOOLS_CALL not in url:
        return None
    server, _, tool = url[len("mcp://") :].partition(TOOLS_CALL)
    return unquote(server), unquote(tool)


def result_data(result: Any) -> tuple[Any, str] | None:
    """(the JSON a tool result carries, its shape), or None when it carries none."""
    if not isinstance(result, dict):
        return None
    structured = result.get("structuredContent")
    wrapped = isinstance(structured, dict) and set(structured) == {"result"} and isinstance(structured["result"], str)
    if isinstance(structured, dict | list) and not wrapped:
        return structured, "structured"
    for block in result.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "text":
            try:
                data = json.loads(block.get("text", ""))
            except ValueError:
                return None
            return (data, "wrapped" if wrapped else "text") if isinstance(data, dict | list) else None
    return None


def tool_result(data: Any, shape: str) -> dict[str, Any]:
    text = json.dumps(data, ensure_ascii=False)
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
    if shape == "structured":
        result["structuredContent"] = data
    elif shape == "wrapped":  # an SDK tool returning a str: the text again, under "result"
        result["structuredContent"] = {"result": text}
    return result


def marked(data: Any, item_id: str) -> Any:
    """A recorded result with the id replaced by the placeholder (so another id can be put in)."""
    return json.loads(json.dumps(data).replace(item_id, ESCAPED_MARK)) if item_id else data


def unmarked(data: Any, item_id: str) -> Any:
    return json.loads(json.dumps(data).replace(ESCAPED_MARK, json.dumps(item_id)[1:-1]))


@dataclass
class Call:
    index: int
    tool: str
    op: str
    arguments: dict[str, Any]
    result: Any


class ToolLearner:
    """Groups the recorded CRUD-named tool calls by (server, noun) and learns one resource per group."""

    def __init__(self, interactions: Sequence[Interaction]) -> None:
        self.groups: dict[tuple[str, str], list[Call]] = {}
        self.servers: dict[int, str] = {}
        self.gaps: list[Gap] = []
        self._schemas = tool_schemas(interactions)
        self.hints = {key: (hints, index) for key, (hints, index, _) in self._schemas.items()}
        self.listed = bool(self.hints) or any(i.request.url.endswith("/tools/list") for i in interactions)
        contradicted: dict[tuple[str, str], Gap] = {}
        others: list[tuple[tuple[str, str], str, Call]] = []  # tools of other names: deletes by annotation?
        for interaction in interactions:
            found = tool_of(interaction.request)
            if found is None:
                continue
            named = CRUD_TOOL.fullmatch(found[1])
            op, noun = named.groups() if named else ("", "")
            why = self._contradiction(found, op) if named else None
            if why is not None:
                gap = Gap(f"MCP tool {found[0]}: {found[1]}", why, [self.hints[found][1]])
                contradicted.setdefault(found, gap)
                continue
            try:
                arguments = json.loads(interaction.request.body or b"{}")
                result = json.loads(interaction.response.body or b"{}").get("result")
            except ValueError:
                continue
            call = Call(interaction.index, found[1], op, arguments if isinstance(arguments, dict) else {}, result)
            self.servers[call.index] = found[0]
            if named is None:
                other = OTHER_TOOL.fullmatch(found[1])
                if other is not None:
                    others.append(((found[0], singular(other.group(2))), found[1], call))
                continue
            self.groups.setdefault((found[0], singular(noun)), []).append(call)
        self._destructive(others)
        self.gaps.extend(contradicted.values())

    def _contradiction(self, found: tuple[str, str], op: str) -> str | None:
        """Why a CRUD-named tool's annotations say it is something else (it then replays as recorded)."""
        hints = self.hints.get(found, ({}, 0))[0]
        read_only = hints.get("readOnlyHint")
        if isinstance(read_only, bool) and read_only != (op in ("get", "list")):
            return f"named like a {op} but annotated readOnlyHint: {str(read_only).lower()}: replays as recorded"
        if op == "delete" and hints.get("destructiveHint") is False:
            return "named like a delete but annotated destructiveHint: false: replays as recorded"
        return None

    def _destructive(self, others: list[tuple[tuple[str, str], str, Call]]) -> None:
        """A tool of another name (`remove_task`) is a delete of a known noun when it is annotated destructive and
        not read-only, and every recorded call sent only the id."""
        by_tool: dict[tuple[tuple[str, str], str], list[Call]] = {}
        for group, tool, call in others:
            by_tool.setdefault((group, tool), []).append(call)
        for (group, tool), calls in by_tool.items():
            if group not in self.groups:
                continue
            hints = self.hints.get((group[0], tool), ({}, 0))[0]
            ids = (f"{group[1]}_id", "id")
            only_id = all(len(c.arguments) == 1 and next(iter(c.arguments)) in ids for c in calls)
            if hints.get("destructiveHint") is True and not hints.get("readOnlyHint") and only_id:
                for call in calls:
                    call.op = "delete"
                self.groups[group].extend(calls)
                continue
            why = ("not named like CRUD, and no recorded annotation says it is a delete (destructiveHint: true, "
                   "called with the id only): replays as recorded")  # fmt: skip
            self._gap(f"MCP tool {group[0]}: {tool}", why, calls)
        for calls in self.groups.values():
            calls.sort(key=lambda c: c.index)

    def server_of(self, call: Call) -> str:
        return self.servers[call.index]

    def learn(self) -> list[Resource]:
        found = [self._resource(server, noun, calls) for (server, noun), calls in self.groups.items()]
        return [r for r in found if r is not None]

    def _gap(self, subject: str, reason: str, calls: list[Call]) -> None:
        self.gaps.append(Gap(subject, reason, evidence_list([c.index for c in calls])))

    def _resource(self, server: str, noun: str, calls: list[Call]) -> Resource | None:
        id_arg = next((a for c in calls if c.op in ("get", "update", "delete") for a in (f"{noun}_id", "id")
                       if a in c.arguments), None)  # fmt: skip
        items: list[tuple[Call, Item]] = []
        for call in calls:
            data = result_data(call.result)
            if data is None or (isinstance(call.result, dict) and call.result.get("isError")):
                continue
            if isinstance(data[0], dict) and call.op != "list":
                items.append((call, data[0]))
            elif call.op == "list":
                items.extend((call, item) for item in listed(data[0]) if isinstance(item, dict))
        id_field = next((f for f in (id_arg, "id", f"{noun}_id") if f and any(f in i for _, i in items)), None)
        subject = f"MCP tools {server}: {', '.join(sorted({c.tool for c in calls}))}"
        if id_field is None or id_arg is None:
            why = "no id argument (<x>_id or id) on a get/update/delete" if id_arg is None else "no JSON result"
            self._gap(subject, f"{why} was recorded, so no resource: they replay as recorded", calls)
            return None
        name = f"{server}:{noun}s"
        values = [as_text(i[id_field]) for _, i in items if id_field in i]
        numeric = any(isinstance(i.get(id_field), int) for _, i in items)
        resource = Resource(name, Template(("mcp", server, noun + "s")), Template(("mcp", server, noun + "s", None)),
                            id_field, infer_style([v for v in values if v], numeric), mcp_server=server)  # fmt: skip
        resource.id_evidence = evidence_list(sorted({c.index for c, _ in items}))
        resource.baseline = {NO_PARENT: self._start(calls, items, id_arg, id_field, resource)}
        # a session starts where the recording started: after the items it did not create, at its first create
        style = resource.id_style
        kept = [style.number(i) for i in resource.baseline[NO_PARENT]]
        first = [style.number(as_text(i.get(id_field))) for c, i in items if c.op == "create"][:1]
        resource.first_free = max([n + 1 for n in kept if n is not None] + [n for n in first if n is not None] or [1])
        rules: dict[str, ToolRule] = {}
        for call in calls:
            self._teach(rules, call, id_arg, id_field)
        resource.tool_rules = list(rules.values())
        for rule in rules.values():
            _paging_notes(rule)
        untaught = sorted({c.tool for c in calls} - set(rules))
        if untaught:
            self._gap(f"MCP tools {server}: {', '.join(untaught)}", "no recorded call showed a JSON result or id: "
                      "they replay as recorded", [c for c in calls if c.tool in untaught])  # fmt: skip
        return resource

    @staticmethod
    def _start(calls: list[Call], items: list[tuple[Call, Item]], id_arg: str, id_field: str,
               resource: Resource) -> dict[str, Item]:  # fmt: skip
        """The items as they were when the recording started (as the HTTP learner keeps them): each as first
        seen before any recorded write to it; one first seen in an update's result existed (state unknown);
        one a recorded create made is not there (`created_in_recording`)."""
        written: dict[int, set[str]] = {}  # call index -> ids its write touched
        for call in calls:
            if call.op in ("update", "delete") and id_arg in call.arguments:
                written.setdefault(call.index, set()).add(as_text(call.arguments[id_arg]) or "")
        for call, item in items:
            if call.op == "create" and as_text(item.get(id_field)):
                written.setdefault(call.index, set()).add(as_text(item[id_field]) or "")
                resource.created_in_recording.add((NO_PARENT, as_text(item[id_field]) or ""))
        start: dict[str, Item] = {}
        touched: set[str] = set()
        by_call: dict[int, list[Item]] = {}
        for call, item in items:
            by_call.setdefault(call.index, []).append(item)
        for call in calls:
            for item in by_call.get(call.index, []):
                item_id = as_text(item.get(id_field))
                if item_id and item_id not in touched and item_id not in start and call.op != "create":
                    start[item_id] = item  # an update's result: it existed before (its state then unknown)
            touched |= written.get(call.index, set())
        return start

    def _teach(self, rules: dict[str, ToolRule], call: Call, id_arg: str, id_field: str) -> None:
        data = result_data(call.result)
        error = isinstance(call.result, dict) and bool(call.result.get("isError"))
        asked = as_text(call.arguments.get(id_arg)) if id_arg in call.arguments else ""
        rule = rules.get(call.tool)
        if rule is None:
            if call.op != "list" and call.op != "create" and id_arg not in call.arguments:
                return
            if not error and data is None and call.op != "delete":
                return
            rule = ToolRule(call.op + ":" + call.tool, tool=call.tool, op=call.op, id_arg=id_arg)
            self._annotated(rule, self.server_of(call))
            rules[call.tool] = rule
        rule.evidence = evidence_list([*rule.evidence, call.index])
        if error:
            rule.missing = marked(call.result, asked or "")
            return
        if data is not None:
            rule.shape = data[1]
            if call.op == "list" and isinstance(data[0], dict):
                rule.items_key = next((k for k, v in data[0].items() if isinstance(v, list)), None)
                rule.envelope_order = list(data[0])
                _paging(rule, call, data[0])
            if call.op == "create" and isinstance(data[0], dict):
                given = set(call.arguments) | {id_field}
                rule.defaults = {k: v for k, v in data[0].items() if k not in given}
        if call.op == "delete":
            rule.done = marked(call.result, asked)

    def _annotated(self, rule: ToolRule, server: str) -> None:
        """What the tool's recorded annotations say, and what could not be learned without them."""
        hints, index = self.hints.get((server, rule.tool), ({}, 0))
        shown = ", ".join(f"{k}: {str(v).lower()}" for k, v in hints.items())
        if shown:
            rule.notes.append(f"annotated {shown} (interaction {index})")
        if rule.op != "update":
            return
        if hints.get("idempotentHint") is True:
            rule.semantics = "replace"
            rule.replace_defaults = self.schema_defaults.get((server, rule.tool), {})
        elif "idempotentHint" not in hints:
            where = "no tools/list was recorded" if not self.listed else "the tool has no idempotentHint"
            rule.notes.append(f"{where}: the update merges its arguments (a replace cannot be told apart)")

    @property
    def schema_defaults(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {key: defaults for key, (_, _, defaults) in self._schemas.items()}


def _paging_notes(rule: ToolRule) -> None:
    """What a list's recording did not show about its pages."""
    if rule.op != "list" or rule.next_key is None:
        return
    if rule.page_size is None:
        rule.notes.append(f"{rule.next_key} was only recorded empty: the page size is unknown, one page holds all")
    if rule.cursor_arg is None:
        rule.notes.append(f"no call sent a {rule.next_key} back: the cursor argument is unknown, so only the "
                          "first page is answered from the session")  # fmt: skip


def _paging(rule: ToolRule, call: Call, data: dict[str, Any]) -> None:
    """A page of a list: its next-cursor key, the cursor argument it goes back in, the page size."""
    next_key = next((k for k in NEXT_KEYS if k in data and not isinstance(data[k], list | dict)), None)
    cursor = next((a for a in CURSOR_ARGS if a in call.arguments), None)
    rule.next_key = rule.next_key or next_key
    rule.cursor_arg = rule.cursor_arg or cursor
    if next_key is not None and data.get(next_key) is not None and rule.items_key is not None:
        rule.page_size = max(rule.page_size or 0, len(data[rule.items_key]))


def tool_schemas(interactions: Sequence[Interaction]) -> dict[tuple[str, str], tuple[dict[str, Any], int, Any]]:
    """(server, tool) -> (annotations, the tools/list interaction, the inputSchema's property defaults)."""
    found: dict[tuple[str, str], tuple[dict[str, Any], int, Any]] = {}
    for interaction in interactions:
        url = interaction.request.url
        if not url.startswith("mcp://") or not url.endswith("/tools/list"):
            continue
        server = unquote(url[len("mcp://") : -len("/tools/list")])
        try:
            tools = json.loads(interaction.response.body or b"{}").get("result", {}).get("tools", [])
        except (ValueError, AttributeError):
            continue
        for tool in tools if isinstance(tools, list) else []:
            if not isinstance(tool, dict):
                continue
            hints = {k: v for k, v in (tool.get("annotations") or {}).items() if isinstance(v, bool)}
            props = (tool.get("inputSchema") or {}).get("properties") or {}
            defaults = {k: p["default"] for k, p in props.items() if isinstance(p, dict) and "default" in p}
            found[(server, str(tool.get("name")))] = (hints, interaction.index, defaults)
    return found


def listed(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return next((v for v in data.values() if isinstance(v, list)), [])
    return []


# ---------------------------------------------------------------- answering


def answer(rule: ToolRule, result: dict[str, Any]) -> Synthesized:
    body = canonical({"result": result})
    headers = (*JSON_HEADERS, ("content-length", str(len(body))), (SYNTHESIZED_HEADER, rule.name))
    return Synthesized(Response(200, "", headers, body), rule.name, rule.evidence)


def synthesize_tool(request: Request, state: ResourceState) -> Synthesized | None:
    """The session's answer to an unrecorded CRUD tool call, or None (a miss, the reason in `state.why`)."""
    found = tool_of(request)
    entry = state.model.tools.get(found) if found else None
    if entry is None:
        return miss(state, "no learned MCP resource has this tool")
    resource, rule = entry
    assert isinstance(rule, ToolRule)
    try:
        arguments = json.loads(request.body or b"{}")
    except ValueError:
        return miss(state, "the tool's arguments are not JSON")
    if rule.op == "list":
        return _list(rule, resource, state, arguments)
    if rule.op == "create":
        return _create(rule, resource, state, arguments)
    item_id = as_text(arguments.get(rule.id_arg)) if rule.id_arg else None
    if not item_id:
        return miss(state, f"{rule.tool} was called without {rule.id_arg}")
    absent = state.absent(resource, NO_PARENT, item_id)  # deleted here, or only a recorded create made it
    item = None if absent else state.get(resource, NO_PARENT, item_id)
    if item is None:
        if rule.missing is None:
            return miss(state, f"{rule.tool} of an unknown id: the recording never showed that answer")
        return answer(rule, unmarked(rule.missing, item_id))
    if rule.op == "get":
        return answer(rule, tool_result(item, rule.shape))
    if rule.op == "update":
        given = {k: v for k, v in arguments.items() if k != rule.id_arg}
        if rule.semantics == "replace":  # PUT-like: a field not given goes back to its default (else stays)
            defaults = {**_create_defaults(resource), **(rule.replace_defaults or {})}
            given = {**{k: defaults.get(k, v) for k, v in item.items() if k != resource.id_field}, **given}
        changed = {**item, **given}
        state.put(resource, NO_PARENT, item_id, changed)
        return answer(rule, tool_result(changed, rule.shape))
    if rule.done is None:
        return miss(state, f"no successful {rule.tool} was recorded")
    state.remove(resource, NO_PARENT, item_id)
    return answer(rule, unmarked(rule.done, item_id))


def _known_fields(resource: Resource) -> set[str]:
    """The fields items of this resource have (as the recording showed them), even when a session has none."""
    start = [item for items in resource.baseline.values() for item in list(items.values())[:20]]
    return {key for item in start for key in item} | set(_create_defaults(resource)) | {resource.id_field}


def _create_defaults(resource: Resource) -> dict[str, Any]:
    create = next((r for r in resource.tool_rules if isinstance(r, ToolRule) and r.op == "create"), None)
    return dict(create.defaults or {}) if create is not None else {}


def _list(rule: ToolRule, resource: Resource, state: ResourceState, arguments: dict[str, Any]) -> Synthesized | None:
    items = [item for _, item in state.items(resource, NO_PARENT)]
    arguments = dict(arguments)
    cursor = arguments.pop(rule.cursor_arg, None) if rule.cursor_arg else None
    known = {key for item in items for key in item} | _known_fields(resource)
    for key, value in arguments.items():  # a filter on an item field; anything else is not understood
        if key not in known:
            return miss(state, f"{rule.tool} argument {key!r} is not a field of its items")
        items = [item for item in items if item.get(key) == value]
    if rule.items_key is None:
        return answer(rule, tool_result(items, rule.shape))
    data: dict[str, Any] = {rule.items_key: items}
    if rule.next_key is not None:
        if cursor is not None and not str(cursor).isdigit():
            return miss(state, f"{rule.tool} cursor {cursor!r}: only the offsets this replay hands out are known")
        start = int(cursor or 0)
        size = rule.page_size or max(len(items), 1)
        more = rule.page_size is not None and start + size < len(items)
        data = {rule.items_key: items[start : start + size], rule.next_key: str(start + size) if more else None}
    order = rule.envelope_order or list(data)
    return answer(rule, tool_result({k: data.get(k) for k in order}, rule.shape))


def _create(rule: ToolRule, resource: Resource, state: ResourceState, arguments: dict[str, Any]) -> Synthesized | None:
    if rule.defaults is None:
        return miss(state, f"no successful {rule.tool} was recorded")
    given = arguments.get(resource.id_field)
    item_id = as_text(given) if given is not None else state.new_id(resource)
    new_id: Any = int(item_id) if resource.id_style.numeric and item_id.isdigit() else item_id
    item = {resource.id_field: new_id, **rule.defaults, **arguments}
    state.put(resource, NO_PARENT, item_id, item)
    return answer(rule, tool_result(item, rule.shape))


def follow_tool(request: Request, recorded: Interaction | None, state: ResourceState) -> Synthesized | None:
    """`follow_recording` for MCP: a miss is synthesized; a recorded write is applied to the session; a recorded
    read the session's own writes made stale is answered from the session's state."""
    if recorded is None:
        return synthesize_tool(request, state)
    found = tool_of(request)
    entry = state.model.tools.get(found) if found else None
    if entry is None:
        return None
    resource, rule = entry
    assert isinstance(rule, ToolRule)
    arguments = json.loads(request.body or b"{}")
    item_id = as_text(arguments.get(rule.id_arg)) if rule.id_arg and rule.id_arg in arguments else None
    if stale(rule, resource, state, recorded, item_id):
        return synthesize_tool(request, state)
    if rule.op in WRITES:
        _apply(rule, resource, state, recorded, item_id)
    return None


def stale(rule: ToolRule, resource: Resource, state: ResourceState, recorded: Interaction, item_id: str | None) -> bool:
    """Does the recorded answer contradict this session's state (as `generalise.agrees` asks for HTTP)? A read
    of what the session's own writes changed, an answer about an item the session does not have (deleted here,
    or only a recorded create made it), an isError "missing" for an item it has, a recorded create whose id it
    already holds."""
    try:
        result = json.loads(recorded.response.body or b"{}").get("result")
    except ValueError:
        return False
    failed = not isinstance(result, dict) or bool(result.get("isError"))
    if rule.op in ("get", "list") and state.changed_by_session(resource, NO_PARENT, item_id):
        return True
    if item_id is not None:
        absent = state.absent(resource, NO_PARENT, item_id)
        held = not absent and state.get(resource, NO_PARENT, item_id) is not None
        return (absent and not failed) or (failed and held)
    if rule.op == "create" and not failed:
        data = result_data(result)
        made = as_text(data[0].get(resource.id_field)) if data and isinstance(data[0], dict) else None
        return bool(made) and state.get(resource, NO_PARENT, made or "") is not None
    if rule.op == "list" and not failed:
        return _list_differs(rule, resource, state, recorded, result)
    return False


def _list_differs(rule: ToolRule, resource: Resource, state: ResourceState, recorded: Interaction,
                  result: dict[str, Any]) -> bool:  # fmt: skip
    """A recorded list whose items are not the ones this session would list now: recorded writes replayed in
    another order than recorded (a recorded delete before a recorded list) leave it stale too. Only the items
    are compared (the model's own answer in the recorded shape), so a list the session agrees with stays
    answered as recorded."""
    data = result_data(result)
    try:
        arguments = json.loads(recorded.request.body or b"{}")
    except ValueError:
        return False
    ours = _list(rule, resource, state, arguments if isinstance(arguments, dict) else {})
    if data is None or ours is None:
        return False
    mine = result_data(json.loads(ours.response.body).get("result"))
    return mine is None or listed(mine[0]) != listed(data[0])


def _apply(
    rule: ToolRule, resource: Resource, state: ResourceState, recorded: Interaction, item_id: str | None
) -> None:
    try:
        result = json.loads(recorded.response.body or b"{}").get("result")
    except ValueError:
        return
    if not isinstance(result, dict) or result.get("isError"):
        return
    if rule.op == "delete":
        if item_id:
            state.remove(resource, NO_PARENT, item_id, synthetic=False)
        return
    data = result_data(result)
    if data is None or not isinstance(data[0], dict):
        return
    made = as_text(data[0].get(resource.id_field)) or item_id
    if made:
        state.put(resource, NO_PARENT, made, data[0], synthetic=False)
        if rule.op == "create":
            state.saw_id(resource, made)
