"""The pure, seeded decision: which rule (if any) faults this call.

Every random draw is a hash of (seed, session, rule, the call's number among that rule's matches in the session):
no global random, no clock. The same session, rules and seed give the same faults at the same calls, whatever
other sessions do meanwhile and whichever server (reverse, forward, MCP) answers.

A call no rule matches costs a dict lookup or two: rules are filed by method, a literal path in a set and the
globs joined into one regex per method (tool names likewise), so 100 rules cost about what one does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from hudproxy.faults.model import BEFORE_ANSWER, Fault, FaultsFile, Rule

MCP_METHOD = "MCP"  # MCP calls reach replay as `MCP mcp://<server>/<method>[/<name>]` (hudproxy.mcp.exchange)
TOOL_PREFIX = "/tools/call/"
WILDCARD = re.compile(r"[*?]")


@dataclass(frozen=True)
class FaultHit:
    """A rule fired on a call: its name, the fault (None: latency only) and the delay drawn for it."""

    rule: str
    fault: Fault | None
    delay_s: float = 0.0

    @property
    def before_answer(self) -> bool:
        """The call never reaches the recorded world (its state does not advance)."""
        return self.fault is not None and self.fault.kind in BEFORE_ANSWER

    @property
    def kind(self) -> str:
        return self.fault.kind if self.fault is not None else "latency"


def glob_regex(pattern: str) -> str:
    """`*` any run of characters but `/`, `**` any run at all, `?` one character; the rest literal."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def draw(seed: int, session: str, rule: str, ordinal: int, salt: str = "fire") -> float:
    """A uniform number in [0, 1) fixed by its inputs."""
    digest = hashlib.blake2b(f"{seed}\x00{session}\x00{rule}\x00{ordinal}\x00{salt}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2**64


class CompiledRule:
    """A rule with its name fixed and its match compiled to a regex over `METHOD path` (or the tool name)."""

    __slots__ = ("latency", "name", "nths", "probability", "regex", "rule", "times", "tool")

    def __init__(self, rule: Rule, number: int) -> None:
        self.rule = rule
        self.name = rule.name or f"rule-{number}"
        self.tool = rule.match.tool is not None
        self.nths = rule.nths
        self.probability = rule.probability
        self.times = rule.times
        self.latency = rule.latency
        self.regex = self.pattern()

    def pattern(self) -> str:
        match = self.rule.match
        if match.tool is not None:
            return glob_regex(match.tool)
        methods = match.methods
        method = "(?:" + "|".join(re.escape(m) for m in sorted(methods)) + ")" if methods else "[^ ]+"
        path = glob_regex(match.path) if match.path is not None else ".*"
        return f"{method} {path}"


class Prefilter:
    """Could any of these rules match? Literal subjects in a set, the globs joined into one regex."""

    __slots__ = ("glob", "literals")

    def __init__(self, patterns: list[str]) -> None:
        self.literals = frozenset(p for p in patterns if not WILDCARD.search(p))
        globs = sorted({glob_regex(p) for p in patterns if WILDCARD.search(p)})
        self.glob = re.compile("|".join(f"(?:{g})" for g in globs)).fullmatch if globs else _never

    def may_match(self, subject: str) -> bool:
        return subject in self.literals or self.glob(subject) is not None


def _never(subject: str) -> None:
    return None


def prefilters(rules: list[CompiledRule]) -> tuple[dict[str, Prefilter], Prefilter | None]:
    """HTTP rules filed by method, each method's Prefilter holding the any-method rules too (one lookup a call);
    and the any-method rules' own, for methods no rule names."""
    by_method: dict[str, list[str]] = {}
    any_method: list[str] = []
    for rule in rules:
        path = rule.rule.match.path or "**"
        methods = rule.rule.match.methods
        for method in methods or ():
            by_method.setdefault(method, []).append(path)
        if methods is None:
            any_method.append(path)
    named = {m: Prefilter(paths + any_method) for m, paths in by_method.items()}
    return named, Prefilter(any_method) if any_method else None


class SessionCounters:
    """Per session: each rule's matching calls so far and the faults it fired (reset with the session)."""

    __slots__ = ("fired", "seen")

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.fired: dict[str, int] = {}

    def clear(self) -> None:
        self.seen.clear()
        self.fired.clear()


class FaultPlan:
    """Compiled rules and their seed; `decide` is the only entry point the servers call."""

    def __init__(self, spec: FaultsFile, source: str = "faults") -> None:
        self.spec = spec
        self.seed = spec.seed
        self.source = source  # where the rules came from, for messages
        self.rules = [CompiledRule(rule, number) for number, rule in enumerate(spec.rules, 1)]
        names = [r.name for r in self.rules]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            from hudproxy.errors import ConfigError

            raise ConfigError(f"{source}: rule name(s) {', '.join(duplicated)} used twice; each rule needs its own")
        http = [r for r in self.rules if not r.tool]
        tools = [r for r in self.rules if r.tool]
        self._for_method: dict[str, list[tuple[CompiledRule, re.Pattern[str]]]] = {}
        self.tools = [(r, re.compile(r.regex)) for r in tools]
        self._by_method, self._any_method = prefilters(http)
        self._tools_any = Prefilter([r.rule.match.tool or "*" for r in tools]) if tools else None

    def __len__(self) -> int:
        return len(self.rules)

    def as_dict(self) -> dict[str, Any]:
        return self.spec.model_dump(mode="json", exclude_none=True)

    def decide(self, session: str, counters: SessionCounters, method: str, path: str) -> FaultHit | None:
        """The fault for this call in this session (None for most calls); counts the call for every rule it
        matches, so each rule's `nth` and draws follow its own matches."""
        if method == MCP_METHOD:
            if not path.startswith(TOOL_PREFIX) or self._tools_any is None:
                return None
            subject, candidates = unquote(path[len(TOOL_PREFIX) :]), self.tools
            if not self._tools_any.may_match(subject):
                return None
        else:
            check = self._by_method.get(method, self._any_method)
            if check is None or (path not in check.literals and check.glob(path) is None):
                return None
            subject, candidates = path, self._candidates_for(method)
        hit: FaultHit | None = None
        for rule, regex in candidates:
            if regex.fullmatch(subject) is None:
                continue
            ordinal = counters.seen[rule.name] = counters.seen.get(rule.name, 0) + 1
            if hit is None and self._fires(rule, session, ordinal, counters):
                counters.fired[rule.name] = counters.fired.get(rule.name, 0) + 1
                delay = 0.0
                if rule.latency is not None:
                    delay = rule.latency.sample(draw(self.seed, session, rule.name, ordinal, "latency")) / 1000
                hit = FaultHit(rule.name, rule.rule.fault, delay)
        return hit

    def _candidates_for(self, method: str) -> list[tuple[CompiledRule, re.Pattern[str]]]:
        """The HTTP rules for this method (its own and any-method ones, in file order), each with its path regex."""
        found = self._for_method.get(method)
        if found is None:
            if len(self._for_method) > 64:  # methods are few; a flood of made-up ones must not grow this
                self._for_method.clear()
            found = self._for_method[method] = [
                (rule, re.compile(glob_regex(rule.rule.match.path or "**")))
                for rule in self.rules
                if not rule.tool and (rule.rule.match.methods is None or method in rule.rule.match.methods)
            ]
        return found

    def _fires(self, rule: CompiledRule, session: str, ordinal: int, counters: SessionCounters) -> bool:
        if rule.times is not None and counters.fired.get(rule.name, 0) >= rule.times:
            return False
        if rule.nths is not None:
            return ordinal in rule.nths
        if rule.probability is not None:
            return draw(self.seed, session, rule.name, ordinal) < rule.probability
        return True
