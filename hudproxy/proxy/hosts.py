"""Which hosts a forward proxy intercepts: `--allow-host` patterns (globs), the rest tunnelled or blocked."""

from __future__ import annotations

import fnmatch
import re


def host_regex(patterns: list[str]) -> str:
    """One regex for mitmproxy's allow_hosts/ignore_hosts (it matches against `host:port`)."""
    parts = [fnmatch.translate(p.lower()).removesuffix(r"\Z").removesuffix("$") for p in patterns]
    parts = [p.removeprefix("(?s:").removesuffix(")") if p.startswith("(?s:") else p for p in parts]
    return r"^(" + "|".join(parts) + r")(:\d+)?$"


def host_allowed(host: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(host.lower(), p.lower()) for p in patterns)


__all__ = ["host_allowed", "host_regex", "re"]
