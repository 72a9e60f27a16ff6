"""Path templates by clustering recorded paths: `/orders/A1`, `/orders/A2` → `/orders/{id}`.

Paths are grouped segment by segment, from the left. At each position, the values that look like ids
(`ids.id_kind`) become one variable when there are at least two of them, or when one is confirmed: its value
appears as a field of a response body recorded for that path (`{"id": "A1", ...}` for `/orders/A1`). Beside a
variable, a value that does not look like an id joins it when it is confirmed too, or when it is a leaf that
only ever answered 4xx (`/orders/ZZ` → 404: a missing item, not another endpoint). Everything else stays literal
(`/reports/daily`, a lone `/v1`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hudproxy.resources.ids import id_kind

Segments = tuple[str, ...]
Tokens = tuple[str | None, ...]  # a literal segment, or None for a variable
Confirm = Callable[[Segments, int, str], tuple[int, str] | None]  # -> (interaction, field) that confirms
CONFIRM_TRIES = 8


def segments_of(path: str) -> Segments:
    """`/users/1/todos/` → ("users", "1", "todos"); the root is ()."""
    stripped = path.strip("/")
    return tuple(stripped.split("/")) if stripped else ()


def path_of(url: str) -> str:
    """The path of an absolute URL without urlsplit's cost (learning reads 100,000 of them)."""
    start = url.find("://")
    slash = url.find("/", start + 3 if start >= 0 else 0)
    if slash < 0:
        return "/"
    end = len(url)
    for mark in ("?", "#"):
        found = url.find(mark, slash)
        if 0 <= found < end:
            end = found
    return url[slash:end]


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 1:
        return word[:-1]
    return word


@dataclass(frozen=True)
class Template:
    """A path with variables: tokens are literal segments or None; `names` name the variables in order."""

    tokens: Tokens

    @property
    def names(self) -> tuple[str, ...]:
        out = []
        last = len(self.tokens) - 1
        for position, token in enumerate(self.tokens):
            if token is None:
                before = self.tokens[position - 1] if position else None
                out.append("id" if position == last else f"{singular(before or 'item')}_id")
        return tuple(out)

    @property
    def text(self) -> str:
        names = iter(self.names)
        return "/" + "/".join(t if t is not None else "{" + next(names) + "}" for t in self.tokens)

    @property
    def variables(self) -> int:
        return sum(token is None for token in self.tokens)

    def match(self, segments: Segments) -> Segments | None:
        """The variables' values when `segments` fit this template, else None."""
        if len(segments) != len(self.tokens):
            return None
        values = []
        for token, segment in zip(self.tokens, segments, strict=True):
            if token is None:
                values.append(segment)
            elif token != segment:
                return None
        return tuple(values)

    def fill(self, values: Iterable[str]) -> str:
        given = iter(values)
        return "/" + "/".join(t if t is not None else next(given) for t in self.tokens)


@dataclass
class Variable:
    """Why a path position became a variable: how many values, which interaction confirmed it, who joined."""

    template: Template  # the path up to and including the variable
    values: int = 0
    confirmed: tuple[int, str] | None = None  # (interaction index, body field)
    joined: list[str] = field(default_factory=list)  # values that are not id-like but joined (e.g. a 404 leaf)


@dataclass
class Clustering:
    templates: dict[Segments, Template] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)


def cluster(paths: Iterable[Segments], confirm: Confirm, error_leaf: Callable[[Segments], bool]) -> Clustering:
    """Give every distinct recorded path its template."""
    result = Clustering()
    _visit(list(paths), 0, (), confirm, error_leaf, result)
    return result


def _visit(
    group: list[Segments], depth: int, prefix: Tokens, confirm: Confirm, error_leaf: Callable[[Segments], bool],
    result: Clustering,
) -> None:  # fmt: skip
    children: dict[str, list[Segments]] = {}
    for path in group:
        if len(path) == depth:
            result.templates[path] = Template(prefix)
        else:
            children.setdefault(path[depth], []).append(path)
    if not children:
        return
    variable = _variable_at(children, depth, prefix, confirm, error_leaf)
    if variable is not None:
        chosen = [path for value in variable[1] for path in children.pop(value)]
        result.variables.append(variable[0])
        _visit(chosen, depth + 1, (*prefix, None), confirm, error_leaf, result)
    for value, paths in children.items():
        _visit(paths, depth + 1, (*prefix, value), confirm, error_leaf, result)


def _variable_at(
    children: dict[str, list[Segments]], depth: int, prefix: Tokens, confirm: Confirm,
    error_leaf: Callable[[Segments], bool],
) -> tuple[Variable, set[str]] | None:  # fmt: skip
    id_like = [value for value in children if id_kind(value)]
    if not id_like:
        return None
    confirmed = None
    for value in id_like[:CONFIRM_TRIES]:
        confirmed = next(filter(None, (confirm(p, depth, value) for p in children[value][:2])), None)
        if confirmed is not None:
            break
    if len(id_like) < 2 and confirmed is None:
        return None
    chosen = set(id_like)
    variable = Variable(Template((*prefix, None)), len(id_like), confirmed)
    for value, paths in children.items():
        if value in chosen:
            continue
        leaf_error = all(len(p) == depth + 1 and error_leaf(p) for p in paths)
        if leaf_error or any(confirm(p, depth, value) for p in paths[:2]):
            chosen.add(value)
            variable.joined.append(value)
    variable.values = len(chosen)
    return variable, chosen
