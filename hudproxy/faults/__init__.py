"""Faults on demand: rules that make the recorded world fail on purpose (latency, error statuses, dropped
connections, cut or stalled streams, broken JSON, MCP tool errors and timeouts), decided by a seeded, pure function.

Below replay in the core: the replay servers (reverse, forward, MCP) ask `FaultPlan.decide` and act the fault out.
"""

from hudproxy.faults.load import faults_from, load_faults, parse_faults
from hudproxy.faults.model import Fault, FaultsFile, Rule
from hudproxy.faults.plan import FaultHit, FaultPlan, SessionCounters

__all__ = [
    "Fault",
    "FaultHit",
    "FaultPlan",
    "FaultsFile",
    "Rule",
    "SessionCounters",
    "faults_from",
    "load_faults",
    "parse_faults",
]
