"""Secret scrubbing: placeholders replace credentials before anything is written, in requests and responses.

The same policy normalises live requests at match time, so a scrubbed cassette still matches a request that
carries the real secret.
"""

from hudproxy.scrub.policy import PLACEHOLDER, ScrubPolicy
from hudproxy.scrub.scrubber import scrub_interaction, scrub_json, scrub_query, scrub_request, scrub_response

__all__ = [
    "PLACEHOLDER",
    "ScrubPolicy",
    "scrub_interaction",
    "scrub_json",
    "scrub_query",
    "scrub_request",
    "scrub_response",
]
