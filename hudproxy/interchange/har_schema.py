"""The parts of HAR 1.2 hudproxy reads, as pydantic models, so a malformed file gets a precise message.

Lenient where real HARs differ (optional bodies, missing cookies/timings, extra `_fields` browsers add);
strict where replay needs a value (method, url, status). hudproxy's own facts ride in `_hudproxy` on an
entry, as HAR allows custom fields that start with an underscore.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class HarPair(_Model):
    """A header, query parameter or form field."""

    name: str
    value: str | None = None


class HarPostData(_Model):
    mimeType: str = ""  # HAR's own field names
    text: str | None = None
    encoding: str | None = None  # hudproxy writes "base64" for binary request bodies, as for content
    params: list[HarPair] = Field(default_factory=list)


class HarRequest(_Model):
    method: str
    url: str
    headers: list[HarPair] = Field(default_factory=list)
    postData: HarPostData | None = None
    bodySize: int | None = None


class HarContent(_Model):
    mimeType: str = ""
    text: str | None = None
    encoding: str | None = None
    size: int | None = None  # the decoded length (mitmproxy writes the wire length and `compression` beside)
    compression: int | None = None


class HarResponse(_Model):
    status: int
    statusText: str = ""
    headers: list[HarPair] = Field(default_factory=list)
    content: HarContent = Field(default_factory=HarContent)


class HarExtension(_Model):
    """What HAR cannot say: the exact compressed bytes of a decoded body, stream chunk boundaries, and an MCP
    exchange as the cassette holds it (`hudproxy.interchange.har_mcp`)."""

    wire: str | None = None
    chunks: list[tuple[int, float]] | None = None
    mcp: dict[str, Any] | None = None


class HarEntry(_Model):
    startedDateTime: str | None = None
    time: float | None = None
    request: HarRequest
    response: HarResponse
    hudproxy: HarExtension | None = Field(default=None, alias="_hudproxy")


class HarLog(_Model):
    version: str | None = None
    entries: list[HarEntry]


class HarFile(_Model):
    log: HarLog
