"""The faults file and the decision: one clear line for a bad file, and a pure, seeded choice of faulted calls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hudproxy.errors import ConfigError
from hudproxy.faults import FaultPlan, SessionCounters, load_faults, parse_faults
from hudproxy.faults.plan import glob_regex


def faulted(plan: FaultPlan, session: str, calls: list[tuple[str, str]]) -> list[str | None]:
    counters = SessionCounters()
    return [getattr(plan.decide(session, counters, m, p), "rule", None) for m, p in calls]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "faults.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - name: a\n    match: {path: /x}\n    nth: 0\n    fault: {kind: reset}\n",
         "faults.yaml:4: rule 1 (a): nth: nth counts calls from 1, not 0"),
        ("seed: 1\nrules:\n  - match: {path: /x}\n    fault: {kind: reset}\n  - name: b\n    match: {path: /y}\n"
         "    fault:\n      kind: status\n      status: 700\n",
         "faults.yaml:9: rule 2 (b): fault.status: Input should be less than or equal to 599"),
        ("rules:\n  - name: slow\n    latency: {distribution: uniform, min_ms: 5}\n",
         "faults.yaml:3: rule 1 (slow): latency.max_ms: Field required"),
        ("rules:\n  - match: {tool: search}\n    fault: {kind: reset}\n",
         "faults.yaml:2: rule 1: an MCP tool call takes a tool_error or timeout fault (or latency), not reset"),
        ("rules:\n  - match: {path: /x}\n    fault: {kind: explode}\n",
         "faults.yaml:3: rule 1: fault: Input tag 'explode'"),
        ("rules: [\n", "faults.yaml:2: not valid YAML"),
        ("rules:\n  - {name: a, latency: 5}\n  - {name: a, latency: 6}\n", "faults.yaml: rule name(s) a used twice"),
    ],
)  # fmt: skip
def test_a_bad_faults_file_is_one_line_naming_file_line_and_rule(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_faults(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / expected.split(":")[0])) and expected.partition(":")[2] in message


def test_same_seed_session_and_rules_give_the_same_faults_at_the_same_calls() -> None:
    rules = {
        "rules": [
            {
                "name": "flaky",
                "match": {"path": "/orders/*"},
                "probability": 0.3,
                "latency": {"distribution": "normal", "mean_ms": 50, "stddev_ms": 20},
                "fault": {"kind": "status", "status": 503},
            }
        ]
    }
    calls = [("GET", f"/orders/A{n % 7}") for n in range(200)]
    first = faulted(parse_faults({**rules, "seed": 11}), "run-1", calls)
    assert first == faulted(parse_faults({**rules, "seed": 11}), "run-1", calls)
    assert 30 < first.count("flaky") < 90  # about 30% of 200
    assert first != faulted(parse_faults({**rules, "seed": 12}), "run-1", calls)  # another seed, other calls
    assert first != faulted(parse_faults({**rules, "seed": 11}), "run-2", calls)  # another session, other calls


def test_latency_is_drawn_from_the_call_number_not_a_clock() -> None:
    plan = parse_faults({"seed": 4, "rules": [{"latency": {"distribution": "uniform", "min_ms": 10, "max_ms": 90}}]})

    def delays() -> list[float]:
        counters = SessionCounters()
        return [plan.decide("run-1", counters, "GET", "/a").delay_s for _ in range(20)]  # type: ignore[union-attr]

    first = delays()
    assert first == delays() and len(set(first)) == 20 and all(0.01 <= d <= 0.09 for d in first)


def test_nth_times_and_first_firing_rule_win() -> None:
    plan = parse_faults([
        {"name": "second-post", "match": {"method": "POST", "path": "/orders"}, "nth": [2, 3], "times": 1,
         "fault": {"kind": "reset"}},
        {"name": "every-post", "match": {"method": ["POST", "PUT"], "path": "/orders"}, "latency": 1},
    ])  # fmt: skip
    calls = [("POST", "/orders"), ("GET", "/orders"), ("POST", "/orders"), ("POST", "/orders"), ("PUT", "/orders")]
    assert faulted(plan, "s", calls) == ["every-post", None, "second-post", "every-post", "every-post"]


def test_http_rules_never_match_mcp_calls_and_tool_rules_never_match_http() -> None:
    plan = parse_faults([{"name": "http", "latency": 1}, {"name": "tool", "match": {"tool": "charge_*"}, "latency": 1}])
    calls = [("GET", "/tools/call/charge_card"), ("MCP", "/tools/call/charge_card"), ("MCP", "/tools/list"),
             ("MCP", "/tools/call/get_balance")]  # fmt: skip
    assert faulted(plan, "s", calls) == ["http", "tool", None, None]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [("/orders/*", "/orders/A1", True), ("/orders/*", "/orders/A1/items", False), ("/api/**", "/api/a/b", True),
     ("/a.b", "/aXb", False), ("/v?/x", "/v1/x", True)],
)  # fmt: skip
def test_path_globs(pattern: str, path: str, matches: bool) -> None:
    assert (re.fullmatch(glob_regex(pattern), path) is not None) is matches


def test_the_joined_prefilter_decides_as_each_rule_would() -> None:
    """100 rules: the one-regex test in front never hides a rule that matches, nor lets a miss through."""
    rules = [{"name": f"r{n}", "match": {"method": "GET", "path": f"/items/{n}/*"}, "nth": 1, "latency": 1}
             for n in range(100)]  # fmt: skip
    plan = parse_faults(rules)
    for n in (0, 57, 99):
        assert faulted(plan, "s", [("GET", f"/items/{n}/x"), ("POST", f"/items/{n}/x")]) == [f"r{n}", None]
    assert faulted(plan, "s", [("GET", "/items/100/x"), ("GET", "/other")]) == [None, None]


def test_a_reset_session_gets_the_same_faults_again() -> None:
    """`nth` counts from the session's (re)start, so a reset run meets its faults at the same calls."""
    from hudproxy.replay.sessions import SessionStore

    session = SessionStore().get("run-1")
    session.faults = parse_faults([{"name": "first", "nth": 1, "fault": {"kind": "reset"}}])

    def rules_fired() -> list[str | None]:
        hits = [session.faults.decide(session.id, session.counters, "GET", "/a") for _ in range(2)]  # type: ignore[union-attr]
        return [getattr(hit, "rule", None) for hit in hits]

    assert rules_fired() == ["first", None]
    session.reset()
    assert rules_fired() == ["first", None]
