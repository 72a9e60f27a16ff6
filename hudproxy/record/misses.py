"""The recorder `--unmatched passthrough` appends forwarded misses with, as the replay server asks for it.

Replay takes it as a parameter (`ReplayOptions(record_misses=...)`) rather than importing the recorder, so the
import graph runs one way: record builds on replay, never the reverse.
"""

from __future__ import annotations

from pathlib import Path

from hudproxy.matching.policy import MatchPolicy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder


def record_misses(cassette: Path, policy: MatchPolicy, target: str) -> Recorder:
    """A new_episodes Recorder on the replayed cassette, matching as the replay does."""
    return Recorder(cassette, RecordMode.NEW_EPISODES, policy, target=target)
