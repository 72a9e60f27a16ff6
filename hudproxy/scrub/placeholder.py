"""Placeholders: `SCRUBBED:<rule>:<8 hex>`, the same for one value everywhere in a recording run.

Why keyed: 8 hex of a plain sha256 of a short password or PIN can be brute-forced offline in seconds, so the
placeholder would leak the secret it replaces. The hash is an HMAC under a key that is never written: random per
process by default (one recording run, its journal worker included, gives a value one placeholder), or
`HUDPROXY_SCRUB_KEY` for placeholders that stay the same across runs (re-recording then changes no line).

Matching never compares the hash: it compares `SCRUBBED:<rule>` (the kind), so a request carrying a new secret
of the same kind still matches the recording.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re

PLACEHOLDER = "SCRUBBED"
HASH_HEX = 8
KEY_ENV = "HUDPROXY_SCRUB_KEY"
PLACEHOLDER_RE = re.compile(rf"{PLACEHOLDER}:([a-z0-9]+):[0-9a-f]{{{HASH_HEX}}}")
_ANY_FORM = re.compile(rf"{PLACEHOLDER}(?::[a-z0-9]+(?::[0-9a-f]{{{HASH_HEX}}})?)?")


def process_key() -> bytes:
    """The HMAC key of this process (from the environment, else random and never stored)."""
    configured = os.environ.get(KEY_ENV)
    return configured.encode("utf-8") if configured else os.urandom(32)


PROCESS_KEY = process_key()


def hashed(value: str, rule: str, key: bytes) -> str:
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"{PLACEHOLDER}:{rule}:{digest[:HASH_HEX]}"


@functools.lru_cache(maxsize=4096)
def kind(rule: str) -> str:
    """What matching compares: the rule without the per-value hash."""
    return f"{PLACEHOLDER}:{rule}"


def is_placeholder(value: str) -> bool:
    """Already scrubbed (this format, its kind, or the bare `SCRUBBED` of older cassettes): kept as it is."""
    return value.startswith(PLACEHOLDER) and _ANY_FORM.fullmatch(value) is not None


def without_hashes(text: str) -> str:
    """Every placeholder as the bare `SCRUBBED`: for comparing scrubbed text whatever the values were."""
    return PLACEHOLDER_RE.sub(PLACEHOLDER, text)
