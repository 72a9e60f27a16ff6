"""What a `verify` run is asked to do (the CLI's options as plain data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hudproxy.drift.volatile import Volatile

if TYPE_CHECKING:  # the MCP SDK is imported only when MCP is verified
    from hudproxy.mcp.upstream import Upstream


@dataclass
class VerifyOptions:
    """Defaults are the safe ones: reads only, nothing written but the report."""

    against: str | None = None
    include_writes: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    volatile: Volatile = field(default_factory=Volatile)
    volatile_file: Path | None = None  # default: <cassette>.volatile.yaml
    learn: bool = False
    update: bool = False
    timeout: float = 30.0
    concurrency: int = 8  # reads in flight at once (writes are always sent one by one, in order)
    insecure: bool = False
    mcp: Upstream | None = None
    mcp_name: str | None = None


def now() -> str:
    """`recorded_at` of an interaction `--update` rewrites, in the recorder's format."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
