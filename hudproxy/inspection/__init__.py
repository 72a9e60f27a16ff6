"""Looking into cassettes: summaries, filters, one interaction in full, and why a request would not match."""

from hudproxy.inspection.summary import InteractionFilter, detail, summarize
from hudproxy.inspection.why import (
    WhyResult,
    explain_request,
    load_request_file,
    load_why_request,
    why_request_from_data,
)

__all__ = [
    "InteractionFilter",
    "WhyResult",
    "detail",
    "explain_request",
    "load_request_file",
    "load_why_request",
    "summarize",
    "why_request_from_data",
]
