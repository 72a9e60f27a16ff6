"""Placeholders: `SCRUBBED:<rule>:<8 hex>`, the same for one value everywhere in a recording run.

Why keyed: 8 hex of a plain sha256 of a short password or PIN can be brute-forced offline in seconds, so the
placeholder would leak the secret it replaces. The hash is an HMAC under a key that never reaches a cassette or a
journal: this user's `~/.hudproxy/scrub.key` (created once, 0600; `HUDPROXY_SCRUB_KEY_FILE` moves it), so every
process on the machine (an eval's workers, a re-recording) gives a value the same placeholder; or
`HUDPROXY_SCRUB_KEY` to share placeholders across machines.

Matching never compares the hash: it compares `SCRUBBED:<rule>` (the kind), so a request carrying a new secret
of the same kind still matches the recording.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

PLACEHOLDER = "SCRUBBED"
HASH_HEX = 8
KEY_ENV = "HUDPROXY_SCRUB_KEY"
KEY_FILE_ENV = "HUDPROXY_SCRUB_KEY_FILE"
PLACEHOLDER_RE = re.compile(rf"{PLACEHOLDER}:([a-z0-9]+):[0-9a-f]{{{HASH_HEX}}}")
_ANY_FORM = re.compile(rf"{PLACEHOLDER}(?::[a-z0-9]+(?::[0-9a-f]{{{HASH_HEX}}})?)?")


def process_key() -> bytes:
    """The HMAC key: `HUDPROXY_SCRUB_KEY`, else this user's key file (created once, 0600), else random for this
    process (a home that cannot be written)."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        return configured.encode("utf-8")
    try:
        return _key_from_file(key_file())
    except OSError:
        return os.urandom(32)


def key_file() -> Path:
    configured = os.environ.get(KEY_FILE_ENV)
    return Path(configured) if configured else Path.home() / ".hudproxy" / "scrub.key"


def _key_from_file(path: Path) -> bytes:
    """Read the key, or create it: written to a temp file and linked into place, so processes starting together
    (an eval's workers) all end up with the one key the first link made."""
    try:
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scrub-key.", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode("ascii"))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes().strip()


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
