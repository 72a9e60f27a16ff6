"""The resource model: learned from a cassette's HTTP interactions, it answers consistent requests nobody
recorded from each session's own state (`hudproxy replay --generalise`, `hudproxy inspect --model`).

Data flow: cassette → matching → resources → replay. This package never imports replay, record, journal, mcp,
cli or env; the replay engine calls `generalise.follow_recording` as its hook.
"""

from hudproxy.resources.learn import learn_model
from hudproxy.resources.model import ResourceModel
from hudproxy.resources.state import ResourceState
from hudproxy.resources.synthesize import SYNTHESIZED_HEADER, Synthesized, apply, synthesize

__all__ = ["SYNTHESIZED_HEADER", "ResourceModel", "ResourceState", "Synthesized", "apply", "learn_model", "synthesize"]
