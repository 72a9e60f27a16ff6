"""The scrubbed form matching compares: every secret, live or already a placeholder, as `SCRUBBED:<rule>`.

Both sides of a comparison go through the same scan, so a recording (`SCRUBBED:accesstoken:1f2e3d4c`) matches
a live request with the real secret or a new one of the same kind (`SCRUBBED:accesstoken`), and two recordings
that differ only in their secrets' hashes are the same request.
"""

from __future__ import annotations

from typing import Any

from hudproxy.interaction.model import Request
from hudproxy.scrub.jsondata import scrub_data
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import _secret_header_value, collect_query
from hudproxy.scrub.text import Scrubber, rule_of

SECRETS_ATTRIBUTE = "_hudproxy_match_secrets"


def request_scrubber(request: Request, policy: ScrubPolicy) -> Scrubber:
    """A matching scrubber that knows the request's header and query secrets (echoes of them elsewhere in the
    request are normalised as the recorder hid them). They are collected once per request and policy: the path,
    query and body matchers each start from a copy."""
    scrubber = Scrubber(policy, for_matching=True)
    if not policy.enabled:
        return scrubber
    known = request.__dict__.get(SECRETS_ATTRIBUTE)
    if known is None or known[0] is not policy:
        collected = Scrubber(policy, for_matching=True)  # kept to seed each matcher's own: it never scans
        for name, value in request.headers:
            if policy.is_secret_header(name):
                _secret_header_value(name, value, collected)
        query = request.query_string
        if query:
            collect_query(query, collected)
        known = request.__dict__[SECRETS_ATTRIBUTE] = (policy, collected)  # a frozen value: cached as `parts` is
    scrubber.seed(known[1])
    return scrubber


def match_pairs(pairs: list[tuple[str, str]], scrubber: Scrubber, form: bool = False) -> list[tuple[str, str]]:
    """Query or form pairs as matching compares them."""
    policy = scrubber.policy
    if not policy.enabled:
        return pairs
    secret = policy.is_secret_form_field if form else policy.is_secret_query
    hidden = [(k, scrubber.hide(v, rule_of(k))) if secret(k) else (k, v) for k, v in pairs]
    return [(k, v) if secret(k) else (k, scrubber.text(v)) for k, v in hidden]


def match_json(data: Any, scrubber: Scrubber) -> Any:
    """Parsed JSON as matching compares it."""
    return scrub_data(data, scrubber) if scrubber.policy.enabled else data
