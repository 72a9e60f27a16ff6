"""MatchPolicy: which aspects of a request decide a match, and what to ignore. Named in config, composed in code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hudproxy.cassette.validate import register_section
from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Interaction
from hudproxy.matching.writes import WriteRule, read_only_hints
from hudproxy.scrub.policy import ScrubPolicy, name_list

ASPECTS = ("method", "scheme", "host", "port", "path", "query", "body")
REVERSE_DEFAULT = ("method", "path", "query", "body")
FORWARD_DEFAULT = ("method", "scheme", "host", "port", "path", "query", "body")


def validate_aspects(names: Iterable[str]) -> tuple[str, ...]:
    """Check `--match-on` names; the error lists the valid ones."""
    cleaned = tuple(n.strip().lower() for n in names if n.strip())
    unknown = [n for n in cleaned if n not in ASPECTS]
    if unknown:
        raise ConfigError(
            f"unknown --match-on aspect {', '.join(map(repr, unknown))}; valid aspects: {', '.join(ASPECTS)}."
        )
    if not cleaned:
        raise ConfigError(f"--match-on needs at least one aspect; valid aspects: {', '.join(ASPECTS)}.")
    return tuple(a for a in ASPECTS if a in cleaned)


@dataclass(frozen=True)
class MatchPolicy:
    """What makes two requests "the same": aspects compared, query keys and JSON fields ignored.

    `scrub` normalises both sides the same way, so a recorded placeholder matches a live secret.
    """

    on: tuple[str, ...] = REVERSE_DEFAULT
    ignore_query: frozenset[str] = frozenset()
    ignore_json_fields: frozenset[str] = frozenset()
    scrub: ScrubPolicy = field(default_factory=ScrubPolicy.default)
    writes: WriteRule = field(default_factory=WriteRule)

    @classmethod
    def build(
        cls,
        on: Iterable[str] | None = None,
        ignore_query: Iterable[str] = (),
        ignore_json_fields: Iterable[str] = (),
        scrub: ScrubPolicy | None = None,
        forward: bool = False,
        read_tools: Iterable[str] = (),
        write_tools: Iterable[str] = (),
    ) -> MatchPolicy:
        """`read_tools` / `write_tools`: MCP tools state-aware replay counts as reads / writes whatever their names
        and annotations say (`hudproxy.matching.writes`)."""
        aspects = validate_aspects(on) if on else (FORWARD_DEFAULT if forward else REVERSE_DEFAULT)
        reads, writes = frozenset(read_tools), frozenset(write_tools)
        if reads & writes:
            both = ", ".join(sorted(reads & writes))
            raise ConfigError(f"{both}: named both a read tool and a write tool; give each tool one of them.")
        return cls(
            on=aspects,
            ignore_query=frozenset(ignore_query),
            ignore_json_fields=frozenset(ignore_json_fields),
            scrub=scrub or ScrubPolicy.default(),
            writes=WriteRule(read_tools=reads, write_tools=writes),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "on": list(self.on),
            "ignore_query": sorted(self.ignore_query),
            "ignore_json_fields": sorted(self.ignore_json_fields),
        }
        if self.writes.read_tools:  # only when set: cassettes without them stay as they were
            data["read_tools"] = sorted(self.writes.read_tools)
        if self.writes.write_tools:
            data["write_tools"] = sorted(self.writes.write_tools)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], scrub: ScrubPolicy | None = None) -> MatchPolicy:
        """The policy a cassette's `hudproxy.match` section records; ConfigError names the key that is wrong."""
        if not isinstance(data, dict):
            raise ConfigError(f"expected a mapping of match options, got {data!r:.60}")
        on = name_list(data, "on", None)
        return cls.build(
            on=on or None,
            ignore_query=name_list(data, "ignore_query", ()),
            ignore_json_fields=name_list(data, "ignore_json_fields", ()),
            scrub=scrub,
            read_tools=name_list(data, "read_tools", ()),
            write_tools=name_list(data, "write_tools", ()),
        )


def with_read_only_hints(policy: MatchPolicy, interactions: Sequence[Interaction]) -> MatchPolicy:
    """The policy with tools the recorded listings mark `readOnlyHint` counted as reads for state-aware replay."""
    hints = read_only_hints(interactions)
    if not hints:
        return policy
    writes = replace(policy.writes, read_only_hints=policy.writes.read_only_hints | hints)
    return replace(policy, writes=writes)


register_section("match", MatchPolicy.from_dict)  # a cassette's `hudproxy.match` is checked when it is loaded
