"""Replay: answer live requests from a cassette index (sans-IO engine, per-session state, adapters)."""

from hudproxy.replay.engine import Outcome, ReplayEngine, policies_for
from hudproxy.replay.state import ReplayState
from hudproxy.replay.unmatched import UNMATCHED_STATUS, diagnosis, unmatched_response

__all__ = [
    "UNMATCHED_STATUS",
    "Outcome",
    "ReplayEngine",
    "ReplayState",
    "diagnosis",
    "policies_for",
    "unmatched_response",
]
