"""Which names count as secrets: the policy's lists plus the word rules of `names`, all compared normalised.

What is scrubbed by default is written down for users in docs/scrubbing.md; the CLI's --scrub-* flags add
names, --keep-secrets turns scrubbing off, and the policy is stored in the cassette so replay normalises alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.scrub.names import field_says_secret, header_says_secret, normalise
from hudproxy.scrub.placeholder import PROCESS_KEY

DEFAULT_HEADERS = frozenset(
    {
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey",
        "x-auth-token", "x-access-token", "x-session-token", "x-csrf-token", "x-xsrf-token",
        "x-amz-security-token", "x-goog-api-key", "x-hudproxy-admin-token", "ocp-apim-subscription-key",
        "x-rapidapi-key", "x-jwt-assertion", "x-functions-key", "private-token", "x-vault-token",
    }
)  # fmt: skip
DEFAULT_QUERY = frozenset(
    {
        "api_key", "apikey", "api-key", "key", "token", "access_token", "refresh_token", "id_token", "auth",
        "secret", "client_secret", "password", "passwd", "pwd", "signature", "sig", "x-amz-signature",
        "x-amz-credential", "x-amz-security-token", "assertion", "client_assertion", "subscription-key",
        "session_id", "code_verifier",
    }
)  # fmt: skip
DEFAULT_JSON_FIELDS = frozenset(
    {
        "password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token",
        "id_token", "session_token", "api_key", "apikey", "authorization", "private_key", "secret_access_key",
        "assertion", "client_assertion", "cookie", "set_cookie", "pin", "cvv", "otp", "mfa_code",
        "session_id", "code_verifier",
    }
)  # fmt: skip


def _names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in names if n.strip())


@dataclass(frozen=True)
class ScrubPolicy:
    """What to scrub. `ScrubPolicy.default()` is on unless the user passes --keep-secrets.

    `key` (the placeholder HMAC key) is never stored, printed or compared; it travels with the policy to the
    journal's worker process so journal rows get the cassette's placeholders.
    """

    headers: frozenset[str] = DEFAULT_HEADERS
    query: frozenset[str] = DEFAULT_QUERY
    json_fields: frozenset[str] = DEFAULT_JSON_FIELDS
    enabled: bool = True
    use_suffixes: bool = field(default=True)
    key: bytes = field(default=PROCESS_KEY, repr=False, compare=False)

    @classmethod
    def default(cls) -> ScrubPolicy:
        return cls()

    @classmethod
    def disabled(cls) -> ScrubPolicy:
        return cls(frozenset(), frozenset(), frozenset(), enabled=False, use_suffixes=False)

    def extended(
        self, headers: Iterable[str] = (), query: Iterable[str] = (), json_fields: Iterable[str] = ()
    ) -> ScrubPolicy:
        """This policy plus more names (the --scrub-* flags)."""
        return ScrubPolicy(
            self.headers | _names(headers),
            self.query | _names(query),
            self.json_fields | _names(json_fields),
            enabled=self.enabled,
            use_suffixes=self.use_suffixes,
            key=self.key,
        )

    @cached_property
    def _exact(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        return (
            frozenset(map(normalise, self.headers)),
            frozenset(map(normalise, self.query)),
            frozenset(map(normalise, self.json_fields)),
        )

    def __post_init__(self) -> None:
        # names already judged, one dict per kind of name (a few hundred distinct names in a recording)
        object.__setattr__(self, "_verdicts", ({}, {}, {}, {}))

    def _judge(self, which: int, name: str) -> bool:
        verdicts: dict[str, bool] = self._verdicts[which]  # type: ignore[attr-defined]
        found = verdicts.get(name)
        if found is None:
            if len(verdicts) > 20_000:
                verdicts.clear()
            found = verdicts[name] = self.enabled and self._secret(which, name)
        return found

    def _secret(self, which: int, name: str) -> bool:
        if which == 3:
            return self._secret(1, name) or self._secret(2, name)
        normalised = normalise(name)
        if normalised in self._exact[which]:
            return True
        if not self.use_suffixes:
            return False
        return header_says_secret(name) if which == 0 else field_says_secret(normalised)

    def is_secret_header(self, name: str) -> bool:
        found = self._verdicts[0].get(name)  # type: ignore[attr-defined]
        return self._judge(0, name) if found is None else found

    def is_secret_query(self, name: str) -> bool:
        found = self._verdicts[1].get(name)  # type: ignore[attr-defined]
        return self._judge(1, name) if found is None else found

    def is_secret_field(self, name: str) -> bool:
        found = self._verdicts[2].get(name)  # type: ignore[attr-defined]
        return self._judge(2, name) if found is None else found

    def is_secret_form_field(self, name: str) -> bool:
        """Form bodies carry what queries and JSON do (`client_secret`, `assertion`, `password`)."""
        return self._judge(3, name)

    def to_dict(self) -> dict[str, object]:
        """What the cassette stores, so replay normalises live requests the same way."""
        return {
            "enabled": self.enabled,
            "headers": sorted(self.headers),
            "query": sorted(self.query),
            "json_fields": sorted(self.json_fields),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ScrubPolicy:
        """The policy a cassette's `hudproxy.scrub` section records; ConfigError names the key that is wrong."""
        if not isinstance(data, dict):
            raise ConfigError(f"expected a mapping of scrub options, got {data!r:.60}")
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"enabled: expected true or false, got {enabled!r:.60}")
        if not enabled:
            return cls.disabled()
        return cls(
            _names(name_list(data, "headers", DEFAULT_HEADERS)),
            _names(name_list(data, "query", DEFAULT_QUERY)),
            _names(name_list(data, "json_fields", DEFAULT_JSON_FIELDS)),
        )


def name_list(data: dict[str, Any], key: str, default: Any) -> Any:
    """A list of names from a policy section of a cassette, or `default` when the key is absent; ConfigError
    names the key otherwise (used by the match section's parser too)."""
    value = data.get(key, default)
    if value is default:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of names, got {value!r:.60}")
    return value
