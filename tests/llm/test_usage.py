"""Token usage read from what the model answered (JSON, or the final event of a stream), and priced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hudproxy.errors import ConfigError
from hudproxy.llm.usage import Usage, load_prices, run_usage, usage_of

COMPLETION = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}}
STREAM = (
    'data: {"id":"c2","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    'data: {"id":"c2","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":2,"total_tokens":42}}\n\n'
    "data: [DONE]\n\n"
)


def test_usage_of_a_completion_and_of_a_stream() -> None:
    assert usage_of(json.dumps(COMPLETION)) == Usage(120, 30)
    assert usage_of(STREAM.encode()) == Usage(40, 2)
    assert usage_of('data: {"choices":[]}\n\ndata: [DONE]\n\n') is None  # a stream asked without usage
    assert usage_of("not json") is None


def test_a_runs_usage_and_cost_from_its_llm_journal_rows() -> None:
    calls = [
        {"kind": "llm", "request_body": json.dumps({"model": "gpt-4o-mini"}), "response_body": json.dumps(COMPLETION)},
        {"kind": "mcp", "request_body": "{}", "response_body": json.dumps(COMPLETION)},  # a tool call: not counted
        {"kind": "llm", "request_body": json.dumps({"model": "gpt-4o-mini"}), "response_body": STREAM},
    ]
    prices = load_prices({"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}})
    usage, cost = run_usage(calls, prices)  # type: ignore[misc]
    assert usage == Usage(160, 32) and cost == pytest.approx((160 * 0.15 + 32 * 0.6) / 1e6)
    assert run_usage(calls) == (Usage(160, 32), None)  # no table, no cost
    assert run_usage(calls, load_prices({"other": {"prompt": 1, "completion": 1}}))[1] is None  # type: ignore[index]
    assert run_usage(calls[1:2]) is None  # no model call at all


def test_a_bad_price_table_is_one_clear_error(tmp_path: Path) -> None:
    table = tmp_path / "prices.yaml"
    table.write_text("gpt-4o-mini: {prompt: 0.15}\n")
    with pytest.raises(ConfigError, match=r"prices.yaml: model 'gpt-4o-mini' needs numbers `prompt` and `completion`"):
        load_prices(table)
    with pytest.raises(ConfigError, match="cannot read it"):
        load_prices(tmp_path / "missing.yaml")
