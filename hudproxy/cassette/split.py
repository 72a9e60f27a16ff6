"""The fast path of loading a big YAML cassette: its `interactions:` items parsed in pieces, on two cores.

libyaml's C parser still hands every node to Python, so a 100,000-interaction file costs seconds per core; and
the loader's nesting guard (cassette/yamlio.py) counts the `{` of every JSON body, so one big document is
walked twice. Cut at its items instead, each piece is a small document (the guard stays cheap), and the pieces
split between this process and one forked child: each parses, converts and checks its half.

A piece starts at a `- ` at column 0 inside the top-level `interactions:` section: an item start, as vcrpy and
hudproxy write every item. A cut that falls anywhere else (inside a quoted or a flow value) leaves a piece that
does not parse, and the whole file then goes the usual way. This path only ever *succeeds* or *declines*
(None): anything unexpected (aliases, an `mcp:` section, a torn tail, a bad value, a parse error) is left to
the full loader in cassette/files.py, which gives the same result or the same located error.
"""

from __future__ import annotations

import marshal
import os
import re
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import yaml

from hudproxy.cassette.compiled import flatten
from hudproxy.cassette.convert import Malformed, interaction_from_dict
from hudproxy.cassette.lazy import inflate
from hudproxy.cassette.tail import cut_at_marker
from hudproxy.cassette.values import BadValue, checked
from hudproxy.cassette.yamlio import CassetteLoader, may_alias
from hudproxy.interaction.model import Interaction

MIN_SIZE = 2_000_000  # below this one libyaml pass is as quick as the fork
PIECE_BYTES = 1_000_000  # a piece is a document of its own: small enough that the nesting guard never walks it
# Each pattern starts with a literal newline, which the regex engine scans for (a leading `^` made it try every
# position of a 300 MB file); the file's first line is looked at on its own.
_SECTION = re.compile(rb"\ninteractions:[ \t]*\r?\n")
_FIRST_SECTION = re.compile(rb"interactions:[ \t]*\r?\n")
_SECTION_END = re.compile(rb"\n(?:[^\s#-]|-[^ \t\r\n])")  # a column-0 line that is no item, no comment
_ITEM = b"\n- "


def parse(text: bytes, fork: bool = True) -> tuple[Any, list[Interaction]] | None:
    """(the document without its items, the items as checked Interactions), or None to load the usual way.

    `fork`: parse the second half in a child process (skipped when other threads run: a fork copies only this
    one, and a lock another thread holds would never be released in the child)."""
    if may_alias(text) or cut_at_marker(text) is not None:
        return None
    cut = _pieces(text, PIECE_BYTES)
    if cut is None:
        return None
    head, pieces = cut
    try:
        head_data = yaml.load(head, Loader=CassetteLoader)
    except yaml.YAMLError:
        return None
    middle = _middle(text, pieces)
    first, second = pieces[:middle], pieces[middle:]
    if fork and second and threading.active_count() == 1 and (os.cpu_count() or 1) > 1:
        rows = _in_child(lambda: marshal.dumps([flatten(i) for i in _converted(text, second, 0)]))
        mine = _converted_or_none(text, first)
        rest_rows = rows()
        if mine is None or rest_rows is None:
            return None
        rest = [inflate(row, len(mine) + n) for n, row in enumerate(marshal.loads(rest_rows))]
        return head_data, mine + rest
    converted = _converted_or_none(text, pieces)
    return None if converted is None else (head_data, converted)


def _pieces(text: bytes, piece_bytes: int) -> tuple[bytes, list[tuple[int, int]]] | None:
    """The document with its items taken out, and the (start, end) of each piece of items."""
    sections = [m.end() for m in _SECTION.finditer(text)]
    first = _FIRST_SECTION.match(text)
    if first is not None:
        sections.insert(0, first.end())
    if len(sections) != 1:
        return None
    start = sections[0]
    if not text.startswith(b"- ", start):
        return None
    after = _SECTION_END.search(text, start - 1)
    end = after.start() + 1 if after is not None else len(text)
    pieces, at = [], start
    while at < end:
        cut = text.find(_ITEM, min(at + piece_bytes, end), end)
        stop = end if cut < 0 else cut + 1
        pieces.append((at, stop))
        at = stop
    return text[:start] + text[end:], pieces


def _middle(text: bytes, pieces: list[tuple[int, int]]) -> int:
    """Where to split the pieces so both halves hold about as many bytes."""
    if not pieces:
        return 0
    half = (pieces[0][0] + pieces[-1][1]) // 2
    return next((n for n, (_, end) in enumerate(pieces) if end >= half), len(pieces) - 1) + 1


def _converted(text: bytes, pieces: list[tuple[int, int]], first: int) -> list[Interaction]:
    """Each item parsed, converted and checked as the full loader does (cassette/mcp_section.ordered)."""
    out: list[Interaction] = []
    for start, end in pieces:
        items = yaml.load(text[start:end], Loader=CassetteLoader)
        if not isinstance(items, list):
            raise Malformed
        for item in items:
            out.append(checked(interaction_from_dict(item, first + len(out))))
    return out


def _converted_or_none(text: bytes, pieces: list[tuple[int, int]]) -> list[Interaction] | None:
    try:
        return _converted(text, pieces, 0)
    except (yaml.YAMLError, Malformed, BadValue, RecursionError, MemoryError):
        return None


def _in_child(work: Callable[[], bytes]) -> Callable[[], bytes | None]:
    """Run `work` in a forked child now; the returned function waits for its bytes (None if it failed)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `result`, after the child has written it
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code, never runs its atexit handlers
        code = 1
        try:
            out.write(work())
            out.flush()
            code = 0
        except BaseException:  # any failure only means "decline": the parent loads the usual way
            code = 1
        finally:
            os._exit(code)

    def result() -> bytes | None:
        try:
            _, status = os.waitpid(pid, 0)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                return None
            out.seek(0)
            return out.read()
        finally:
            out.close()

    return result
