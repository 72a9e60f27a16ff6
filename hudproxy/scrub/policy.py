"""Which names count as secrets: exact names plus suffixes, all compared lowercased."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hudproxy.errors import ConfigError

PLACEHOLDER = "SCRUBBED"

DEFAULT_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "x-session-token",
        "x-csrf-token",
        "x-xsrf-token",
        "x-amz-security-token",
        "x-goog-api-key",
        "x-hudproxy-admin-token",
    }
)
HEADER_SUFFIXES = ("-token", "-secret", "-api-key", "-apikey", "-password")

DEFAULT_QUERY = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
DEFAULT_JSON_FIELDS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "session_token",
        "api_key",
        "apikey",
        "authorization",
        "private_key",
        "secret_access_key",
    }
)
NAME_SUFFIXES = ("_token", "_secret", "_password", "_apikey", "_api_key", "_private_key", "_access_key")
NOT_SECRETS = frozenset({"next_page_token", "page_token", "pagetoken", "nextpagetoken", "continuation_token"})


def _lower(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in names if n.strip())


@dataclass(frozen=True)
class ScrubPolicy:
    """What to scrub. `ScrubPolicy.default()` is on unless the user passes --keep-secrets."""

    headers: frozenset[str] = DEFAULT_HEADERS
    query: frozenset[str] = DEFAULT_QUERY
    json_fields: frozenset[str] = DEFAULT_JSON_FIELDS
    enabled: bool = True
    placeholder: str = PLACEHOLDER
    use_suffixes: bool = field(default=True)

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
            self.headers | _lower(headers),
            self.query | _lower(query),
            self.json_fields | _lower(json_fields),
            enabled=self.enabled,
            placeholder=self.placeholder,
            use_suffixes=self.use_suffixes,
        )

    def is_secret_header(self, name: str) -> bool:
        lowered = name.lower()
        if not self.enabled:
            return False
        return lowered in self.headers or (self.use_suffixes and lowered.endswith(HEADER_SUFFIXES))

    def is_secret_query(self, name: str) -> bool:
        return self.enabled and self._is_secret_name(name.lower(), self.query)

    def is_secret_field(self, name: str) -> bool:
        return self.enabled and self._is_secret_name(name.lower(), self.json_fields)

    def _is_secret_name(self, lowered: str, exact: frozenset[str]) -> bool:
        if lowered in NOT_SECRETS:
            return False
        return lowered in exact or (self.use_suffixes and lowered.endswith(NAME_SUFFIXES))

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
            _lower(_name_list(data, "headers", DEFAULT_HEADERS)),
            _lower(_name_list(data, "query", DEFAULT_QUERY)),
            _lower(_name_list(data, "json_fields", DEFAULT_JSON_FIELDS)),
        )


def _name_list(data: dict[str, object], key: str, default: frozenset[str]) -> Iterable[str]:
    value = data.get(key, default)
    if value is default:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of names, got {value!r:.60}")
    return value
