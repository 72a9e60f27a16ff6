"""Torn YAML tails: how the recorder marks where its file is complete, and how the loader finds that point.

While recording, each append to a YAML cassette ends with a comment line `# hudproxy: complete at byte N`, N
being the file's length with that line (a clean stop removes them). A crash (or power loss) during an append
leaves bytes after the last such line: the loader keeps the file up to N and drops the rest. A marker whose
N is not its own end means the file was edited since: markers are then ignored, and a file that does not
parse is cut at the last item start (`- request:` at column 0, as every vcrpy cassette writes its items) if
it ends mid-line and the error lies in that last item.
"""

from __future__ import annotations

import re

import yaml

MARKER_PREFIX = b"# hudproxy: complete at byte "
_MARKER = re.compile(rb"# hudproxy: complete at byte (\d+)\n")
_MARKER_LINE = re.compile(rb"^# hudproxy: complete at byte \d+\n", re.MULTILINE)
ITEM_START = b"\n- request:"


def end_marker(offset: int) -> bytes:
    """The marker line for a file that is `offset` bytes long before it; its number counts the line too."""
    length = offset + len(MARKER_PREFIX) + 2
    while True:
        line = MARKER_PREFIX + str(length).encode() + b"\n"
        if offset + len(line) == length:
            return line
        length = offset + len(line)


def without_markers(text: bytes) -> bytes:
    """The file as a clean stop leaves it: markers only matter while a recording may still be cut."""
    return _MARKER_LINE.sub(b"", text)


def marked_end(text: bytes) -> int | None:
    """Where the recorder last marked the file complete, or None (no marker, or the file was edited since)."""
    search_to = len(text)
    while True:
        at = text.rfind(b"\n" + MARKER_PREFIX, 0, search_to)
        if at < 0:
            return None
        found = _MARKER.match(text, at + 1)
        if found is not None:
            end = int(found.group(1))
            return end if end == found.end() else None
        search_to = at  # the marker line itself was cut: the one before it counts


def cut_at_marker(text: bytes) -> int | None:
    """The length to keep when bytes follow the last valid marker, else None (nothing torn, or no marker)."""
    end = marked_end(text)
    if end is None or not text[end:].strip():
        return None
    return end


def cut_before_error(text: bytes, error: yaml.YAMLError) -> int | None:
    """For a file without valid markers that ends mid-line (how a cut write ends; an edited file ends with a
    newline): the last item start, if the parse error lies in that item; None otherwise."""
    if text.endswith(b"\n"):
        return None
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    start = text.rfind(ITEM_START)
    if start < 0:
        return None
    if mark is not None and mark.line < text.count(b"\n", 0, start) + 1:
        return None  # the error is in an earlier item: a damaged file, not a torn tail
    return start + 1
