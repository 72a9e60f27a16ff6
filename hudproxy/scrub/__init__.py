"""Secret scrubbing: placeholders replace credentials before anything is written, in requests and responses.

The same policy normalises live requests at match time (`scrub.matching`), so a scrubbed cassette still matches
a request that carries the real secret or a new one of the same kind.
"""

from hudproxy.scrub.placeholder import PLACEHOLDER
from hudproxy.scrub.policy import ScrubPolicy
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
