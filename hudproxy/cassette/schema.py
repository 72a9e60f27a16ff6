"""The cassette file's schema, as pydantic models: vcrpy's version-1 format plus hudproxy's extra keys.

vcrpy reads `version`, `interactions[].request` (method, uri, body, headers) and `interactions[].response`
(status, headers, body.string). hudproxy keeps its own facts under `hudproxy` keys, which vcrpy ignores:
per interaction (index, timing, stream chunks, the exact compressed bytes) and per cassette (format version,
match and scrub policies used at record time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hudproxy.cassette.model import VCR_VERSION as VCR_VERSION


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FileStatus(_Model):
    code: int
    message: str = ""


class FileBody(_Model):
    """`string` is text (or bytes from YAML `!!binary`); `base64_string` carries binary in JSON files."""

    string: str | bytes | None = None
    base64_string: str | None = None


class FileRequest(_Model):
    method: str
    uri: str
    body: str | bytes | FileBody | None = None
    headers: dict[str, list[str] | str] = Field(default_factory=dict)


class FileResponse(_Model):
    status: FileStatus
    headers: dict[str, list[str] | str] = Field(default_factory=dict)
    body: FileBody = Field(default_factory=FileBody)


class WireBody(_Model):
    """The exact compressed bytes when the readable `string` holds the decoded text."""

    base64: str
    headers: dict[str, str] = Field(default_factory=dict)
    encoding_at: int | None = None


class InteractionMeta(_Model):
    index: int | None = None
    recorded_at: str | dt.datetime | dt.date | None = None  # YAML reads an unquoted time as a datetime
    duration_ms: float | None = None
    chunks: list[tuple[int, float]] | None = None
    wire: WireBody | None = None
    request_wire: WireBody | None = None


class FileInteraction(_Model):
    request: FileRequest
    response: FileResponse
    hudproxy: InteractionMeta | None = None


class McpMeta(InteractionMeta):
    notification_ms: list[float] | None = None  # when each notification arrived, ms after the call started


class FileMcpExchange(_Model):
    """One MCP call in the cassette's `mcp` section (JSON-RPC data without ids and `_meta`)."""

    server: str = "default"
    method: str
    params: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    notifications: list[dict[str, Any]] = Field(default_factory=list)
    hudproxy: McpMeta | None = None


class CassetteMeta(_Model):
    """hudproxy's cassette-level facts; `format` is versioned separately from the package."""

    model_config = ConfigDict(extra="allow")

    format: int = 1
    recorded_with: str | None = None
    target: str | None = None
    mode: str | None = None
    match: dict[str, Any] | None = None
    scrub: dict[str, Any] | None = None


class CassetteFile(_Model):
    version: int
    interactions: list[FileInteraction] = Field(default_factory=list)
    mcp: list[FileMcpExchange] = Field(default_factory=list)
    hudproxy: CassetteMeta | None = None
