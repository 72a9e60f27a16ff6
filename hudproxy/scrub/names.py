"""Which names say "secret": compared case- and separator-insensitively, by whole words, not substrings.

`access_token`, `accessToken`, `Access-Token` and `ACCESS_TOKEN` are one name (`accesstoken`): a user's casing
must never decide whether a credential reaches a committed cassette. Headers are judged by any word of the
name (`X-Jwt-Assertion`, `Ocp-Apim-Subscription-Key`); data fields (query, JSON, form) by how the name ends
(`clientSecret`, `github_api_key`), since `token_type` or `total_tokens` in a body are not credentials.
"""

from __future__ import annotations

import re

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalise(name: str) -> str:
    """`Access-Token` -> `accesstoken`: the form every secret-name comparison uses."""
    return _NOT_ALNUM.sub("", name.lower())


def words(name: str) -> list[str]:
    """`X-RapidAPI-Key` -> ['x', 'rapid', 'api', 'key']; `accessToken` -> ['access', 'token']."""
    return [w.lower() for w in _WORDS.findall(name)]


# A header is secret when any word of its name is one of these ...
HEADER_WORDS = frozenset(
    {
        "key", "apikey", "token", "secret", "signature", "assertion", "credential", "credentials", "password",
        "passwd", "session", "cookie", "auth", "authorization", "jwt", "csrf", "xsrf",
    }
)  # fmt: skip
# ... unless its last word says it carries a count, a type or a time about the secret, not the secret.
BENIGN_LAST_WORDS = frozenset(
    {
        "count", "type", "length", "expires", "expiry", "expiration", "ttl", "limit", "remaining", "reset", "used",
        "version", "alg", "algorithm", "scheme", "hint", "present", "required",
    }
)  # fmt: skip
# Headers whose words look secret but whose values are protocol facts or client-made ids a replay needs intact:
# CORS `Access-Control-Allow-Credentials: true`, a WebSocket handshake nonce, an idempotency key (a client's
# own unique id for a retry, not a credential), an MCP session id (the MCP replay layer checks its form), the
# replay session a client names (`X-Hudproxy-Session: <run id>` routes the request; it grants nothing).
BENIGN_HEADERS = frozenset(
    normalise(n)
    for n in (
        "access-control-allow-credentials", "sec-websocket-key", "sec-websocket-accept", "idempotency-key",
        "x-idempotency-key", "mcp-session-id", "x-hudproxy-session",
    )
)  # fmt: skip

# A data field (query parameter, JSON field, form field) is secret when its normalised name is in the policy's
# list or ends with one of these.
FIELD_SUFFIXES = (
    "token", "secret", "password", "passwd", "apikey", "accesskey", "secretkey", "privatekey", "subscriptionkey",
    "signingkey", "assertion", "credential", "credentials", "signature", "authorization", "jwt", "sessionkey",
    "verifier",  # PKCE `code_verifier`, OAuth 1 `oauth_verifier`
)  # fmt: skip
# Pagination cursors and counters that end like secrets: scrubbing them would make every page one request.
NOT_SECRET_FIELDS = frozenset(
    {
        "pagetoken", "nextpagetoken", "prevpagetoken", "previouspagetoken", "nexttoken", "continuationtoken",
        "synctoken", "resumetoken", "resumptiontoken", "cursortoken", "starttoken", "maxtoken", "paginationtoken",
    }
)  # fmt: skip


def header_says_secret(name: str) -> bool:
    """By the words of the name alone (the policy adds its exact list on top)."""
    if normalise(name) in BENIGN_HEADERS:
        return False
    parts = words(name)
    if not parts or parts[-1] in BENIGN_LAST_WORDS:
        return False
    return any(w in HEADER_WORDS for w in parts) or normalise(name).endswith(("apikey", "token", "secret"))


def field_says_secret(normalised: str) -> bool:
    """By how the normalised name ends (the policy adds its exact list on top)."""
    return normalised not in NOT_SECRET_FIELDS and normalised.endswith(FIELD_SUFFIXES)
