"""YAML for cassettes: a safe loader that still reads older vcrpy tags, and a dumper that keeps bodies readable.

The loader is also bounded, because a cassette may come from anyone (a pull request, a shared folder):

- nesting: PyYAML's C composer recurses once per level and crashes the process (a segfault, not an exception)
  near 25,000 levels, so a document that *could* nest deeper than MAX_DEPTH is measured first, event by event
  (no recursion), and refused past it;
- aliases: `*alias` reuses a node, so a 400-byte "billion laughs" document becomes gigabytes as soon as anything
  walks it (validation, JSON, matching). hudproxy and vcrpy never write aliases; a hand-written file may use a few,
  but one whose aliases expand it past EXPANSION times its written size (or into itself) is refused.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.error import MarkedYAMLError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_DEPTH = 10_000  # the C composer's recursion is safe below this on an 8 MB stack; real cassettes nest < 100
EXPANSION = 4  # aliases may repeat content, but not grow the document past 4x what is written (+ SLACK)
SLACK_NODES = 100_000
SLACK_CHARS = 10_000_000
# An anchor (`&name`) starts a node: after whitespace, a flow indicator or the document start. Text without one
# has no aliases, so the expansion walk costs nothing on the files hudproxy and vcrpy write. The pattern starts
# with the literal `&` (what it looks behind for follows it) so the regex engine scans for that one byte: a
# leading alternative made it try every position, 3 s on a 300 MB cassette.
_ANCHOR = re.compile(rb"&(?<=[\s\[\{,]&)[^\s\[\]\{\},]")
_ANCHOR_AT_START = re.compile(rb"&[^\s\[\]\{\},]")


def may_alias(raw: bytes) -> bool:
    """Whether the text holds an anchor, so aliases may follow (see check_expansion)."""
    return _ANCHOR_AT_START.match(raw) is not None or _ANCHOR.search(raw) is not None


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SPECIAL_KEYS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})  # `<<` and `=`: SafeConstructor's


class _NotPlain(Exception):
    """A mapping key with a meaning of its own: the document is built the usual way."""


class CassetteYAMLError(MarkedYAMLError):
    """A document refused for its shape (too deep, an alias bomb); the mark is the line to look at."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class CassetteLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML plus the harmless python/str and python/tuple tags older vcrpy cassettes contain; bounded."""

    def __init__(self, stream: Any) -> None:
        raw = stream.encode("utf-8") if isinstance(stream, str) else stream
        if isinstance(raw, bytes | bytearray):
            self._may_alias = may_alias(raw)
            if _could_nest_past(raw, MAX_DEPTH):
                _check_depth(raw)
        else:  # a file object: read nothing twice; measure the composed tree instead
            self._may_alias = True
        self._resolved: dict[str, str] = {}
        super().__init__(stream)

    def construct_document(self, node: yaml.Node) -> Any:
        if self._may_alias:
            check_expansion(node)
            return super().construct_document(node)
        try:  # no anchors, so no node is shared: plain text, mappings and lists need none of the generic machinery
            return self._construct_plain(node)
        except (_NotPlain, TypeError, RecursionError):  # a merge key, an unhashable key, deep nesting: the usual way
            self.constructed_objects, self.recursive_objects, self.deep_construct = {}, {}, False
            return super().construct_document(node)

    def _construct_plain(self, node: yaml.Node) -> Any:
        """What SafeConstructor builds, without its per-node bookkeeping: 30% of a big cassette's load."""
        kind = type(node)
        if kind is yaml.ScalarNode:
            return node.value if node.tag == _STR else self.construct_object(node, deep=True)
        if kind is yaml.MappingNode and node.tag == _MAP:
            out = {}
            for key, value in node.value:
                if key.tag in _SPECIAL_KEYS:
                    raise _NotPlain
                out[self._construct_plain(key)] = self._construct_plain(value)
            return out
        if kind is yaml.SequenceNode and node.tag == _SEQ:
            return [self._construct_plain(item) for item in node.value]
        return self.construct_object(node, deep=True)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """The tag of an untagged node; a quoted scalar is text (no path resolvers are registered), and a short
        plain one is looked up once per document (`GET`, `200`, `null` repeat on every item)."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            if len(value) <= 64:
                found = self._resolved.get(value)
                if found is None:
                    found = self._resolved[value] = super().resolve(kind, value, implicit)
                return found
        return super().resolve(kind, value, implicit)


def _could_nest_past(raw: bytes, limit: int) -> bool:
    """A cheap upper bound of the nesting depth: every flow level opens with `[` or `{`, and every block level
    needs one more column of indentation, or a `- `/`? ` indicator on its line (plus one mapping per line, and an
    indentless sequence adds at most one per mapping level, hence the factor 2). A line's length is no bound to
    use: a 100,000-interaction cassette has 5 KB body lines, which made every big file pay a second full walk.

    Two C-level regex scans decide it: no line indented `indent` columns, and no run of `run` indicators, keep
    the block depth under 2 * (indent + 2 * run + 2) <= limit - openers."""
    if len(raw) < limit:
        return False  # every level costs at least one character
    openers = raw.count(b"[") + raw.count(b"{")
    budget = (limit - openers) // 2 - 2
    if budget < 8:
        return True
    indent, run = budget // 2, budget // 4
    if raw.startswith(b" " * indent) or re.search(rb"\n {%d}" % indent, raw):  # `\n` first: a literal to scan for
        return True
    # a run starts with `-` or `?`: one search for each, each led by its literal byte (fast to scan for)
    return any(re.search(rb"%s(?:[ \t]+[-?]){%d}" % (lead, run - 1), raw) for lead in (rb"-", rb"\?"))


def _check_depth(raw: bytes) -> None:
    """Walk the parser's events (no composing, so no recursion) and refuse a document nested past MAX_DEPTH."""
    parser = _BaseLoader(raw)
    depth = 0
    start, end = yaml.CollectionStartEvent, yaml.CollectionEndEvent
    try:
        while (event := parser.get_event()) is not None:
            kind = type(event)
            if issubclass(kind, start):
                depth += 1
                if depth > MAX_DEPTH:
                    raise CassetteYAMLError(
                        f"nested more than {MAX_DEPTH} levels deep; a cassette never needs that, is it damaged?",
                        event.start_mark,
                    )
            elif issubclass(kind, end):
                depth -= 1
    finally:
        parser.dispose()


def check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand it past EXPANSION times its written size, or into itself.

    Iterative (post-order with memo by node identity), so it neither recurses nor expands anything itself.
    """
    nodes: dict[int, int] = {}
    chars: dict[int, int] = {}
    open_nodes: set[int] = set()
    written_nodes = written_chars = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        kids = _children(node)
        if children_done:
            open_nodes.discard(key)
            nodes[key] = 1 + sum(nodes[id(k)] for k in kids)
            chars[key] = len(node.value) if isinstance(node, yaml.ScalarNode) else sum(chars[id(k)] for k in kids)
            written_nodes += 1
            written_chars += len(node.value) if isinstance(node, yaml.ScalarNode) else 0
            too_many = nodes[key] > EXPANSION * written_nodes + SLACK_NODES
            if too_many or chars[key] > EXPANSION * written_chars + SLACK_CHARS:
                raise CassetteYAMLError(
                    f"its aliases (*name) expand it to more than {nodes[key]:,} values / {chars[key]:,} characters "
                    "(a YAML alias bomb?); write the repeated values out, hudproxy and vcrpy never write aliases",
                    node.start_mark,
                )
            continue
        if key in nodes:
            continue
        if key in open_nodes:
            raise CassetteYAMLError(
                "an alias (*name) refers to a value that contains it; write the values out instead", node.start_mark
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in nodes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


CassetteLoader.add_constructor("tag:yaml.org,2002:python/str", lambda loader, node: loader.construct_scalar(node))
CassetteLoader.add_constructor("tag:yaml.org,2002:python/unicode", lambda loader, node: loader.construct_scalar(node))
CassetteLoader.add_constructor(
    "tag:yaml.org,2002:python/tuple", lambda loader, node: list(loader.construct_sequence(node))
)


class CassetteDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Multi-line text as block literals so bodies read like the response did; never an alias (a value shared in
    memory is written out each time), so the files hudproxy writes never need the loader's alias walk."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.BaseDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data and len(data) < 200_000 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


CassetteDumper.add_representer(str, _represent_str)
