"""Matching: how a live request finds its recorded interactions (policy → aspect keys → index)."""

from hudproxy.matching.index import CassetteIndex, NearMiss, RequestKey
from hudproxy.matching.policy import ASPECTS, MatchPolicy, validate_aspects

__all__ = ["ASPECTS", "CassetteIndex", "MatchPolicy", "NearMiss", "RequestKey", "validate_aspects"]
