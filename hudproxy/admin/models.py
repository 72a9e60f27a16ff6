"""The admin API's response and request bodies (pydantic v2): the contract its OpenAPI document publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    """Every admin error: one sentence saying what went wrong and what to do."""

    detail: str


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    interactions: int = Field(description="Interactions in the loaded cassette")
    sessions: int = Field(description="Live sessions")
    journal: str | None = Field(description="SQLite journal path; null when the journal is disabled")


class MatchOut(BaseModel):
    on: list[str]
    ignore_query: list[str]
    ignore_json_fields: list[str]


class CassetteOut(BaseModel):
    path: str | None
    interactions: int
    match: MatchOut = Field(description="The match policy in force (options given at start win over the file's)")
    meta: dict[str, Any] = Field(description="The cassette's recorded metadata (format, target, policies)")
    by_method: dict[str, int]
    by_status: dict[str, int]


class SessionOut(BaseModel):
    id: str
    calls: int = Field(description="Requests served since the session was created or last reset")
    created: datetime
    last_seen: datetime


class SessionCreate(BaseModel):
    id: str | None = Field(None, description="Session id to use (letters, digits, _ . : -); random if absent")


class SessionCreated(BaseModel):
    id: str
    base_url: str = Field(description="Point a client here: every request under it belongs to this session")


class FaultsOut(BaseModel):
    session: str
    source: Literal["session", "server", "none"] = Field(
        description="session: its own rules (PUT); server: the server's --faults; none: no rules"
    )
    faults: dict[str, Any] | None = Field(description="The rules in force: {seed, rules}")


class NearMissOut(BaseModel):
    interaction: int
    request: str
    differences: list[str]
    distance: int


class CallOut(BaseModel):
    """One journal row, as `hudproxy.journal.Call`."""

    model_config = ConfigDict(from_attributes=True)

    session: str
    seq: int
    time: str
    kind: str
    method: str
    url: str
    path: str
    query: str
    status: int
    matched: bool
    interaction: int | None
    duration_ms: float
    request_headers: list[tuple[str, str]]
    request_body: str | None
    response_body: str | None
    diagnosis: list[NearMissOut] = Field(description="Nearest recordings and what differs (unmatched calls only)")
    answered_by: str = Field(description="recording, model (synthesized under --generalise), miss or fault")
    rule: str | None = Field(None, description="The resource model's rule, when the model answered")
    evidence: list[int] = Field([], description="The interactions that taught that rule")
    fault: str | None = Field(None, description="The fault rule that fired on the call (its kind is `fault`)")


class UnusedOut(BaseModel):
    index: int
    method: str
    url: str
