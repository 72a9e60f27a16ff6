"""The one thing a JSON cassette cannot share with vcrpy: a binary body. vcrpy's JSON serializer has no binary
form, so hudproxy stores one as `{"base64_string": ...}`, which hudproxy reads and vcrpy cannot. Said once per
interaction when such a cassette is written, with the file and the interaction, and what to do instead."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from hudproxy.cassette.convert import binary_parts
from hudproxy.interaction.mcp import is_mcp
from hudproxy.interaction.model import Interaction

log = logging.getLogger("hudproxy.cassette")
SHOWN = 3  # interactions named in the warning; the rest are counted
_checked: dict[Path, int] = {}  # per file: how many interactions were already looked at (a recording rewrites)
_lock = threading.Lock()


def warn_binary_bodies(path: Path, interactions: Sequence[Interaction]) -> list[str]:
    """Warn about the binary bodies among interactions not seen at this path before; returns what was named."""
    key = path.resolve()
    with _lock:
        start = _checked.get(key, 0)
        start = 0 if start > len(interactions) else start  # another cassette written to the same file
        _checked[key] = len(interactions)
    named = [
        f"{i.index} ({i.request.method} {i.request.url}, {' and '.join(parts)})"
        for i in interactions[start:]
        if not is_mcp(i) and (parts := binary_parts(i))
    ]
    if named:
        one = len(named) == 1
        more = f" and {len(named) - SHOWN} more" if len(named) > SHOWN else ""
        log.warning(
            "%s: binary %s in %s %s%s: a JSON cassette stores %s as base64_string, which hudproxy reads and vcrpy "
            "cannot (its JSON serializer has no binary form); save as .yaml for vcrpy.",
            path, "body" if one else "bodies", "interaction" if one else "interactions", ", ".join(named[:SHOWN]),
            more, "it" if one else "them",
        )  # fmt: skip
    return named
