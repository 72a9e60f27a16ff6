"""Token usage of chat-completions calls, per call and per run, and what it cost by an optional price table.

Usage is read from the answer itself: the `usage` object of a JSON completion, or of the last server-sent event
that carries one (a streamed answer asked with `stream_options.include_usage`). A price table gives, per model,
US dollars per million prompt and completion tokens (YAML or JSON):

    gpt-4o-mini: {prompt: 0.15, completion: 0.60}
    smollm2: {prompt: 0, completion: 0}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hudproxy.errors import ConfigError

Prices = Mapping[str, tuple[float, float]]  # model -> (USD per 1M prompt tokens, USD per 1M completion tokens)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def cost(self, model: str, prices: Prices | None) -> float | None:
        """USD by the price table; None without a table or a price for this model."""
        price = (prices or {}).get(model)
        if price is None:
            return None
        return (self.prompt_tokens * price[0] + self.completion_tokens * price[1]) / 1_000_000


def usage_of(body: str | bytes | Any) -> Usage | None:
    """The usage an answer reports (a JSON completion, its parsed value, or a server-sent event stream)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        if text.startswith("{"):
            try:
                body = json.loads(text)
            except ValueError:
                return None
        else:
            return _stream_usage(text)
    found = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(found, dict):
        return None
    return Usage(_count(found.get("prompt_tokens")), _count(found.get("completion_tokens")))


def _stream_usage(text: str) -> Usage | None:
    last: Usage | None = None
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]" or '"usage"' not in data:
            continue
        try:
            found = usage_of(json.loads(data))
        except ValueError:
            continue
        last = found or last
    return last


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def total(usages: Iterable[tuple[str, Usage]], prices: Prices | None = None) -> tuple[Usage, float | None]:
    """The summed usage of (model, usage) pairs and their cost (None when no table, or a model has no price)."""
    summed, cost = Usage(), 0.0 if prices else None
    for model, usage in usages:
        summed = summed + usage
        if cost is not None:
            one = usage.cost(model, prices)
            cost = None if one is None else cost + one
    return summed, cost


def load_prices(source: str | Path | Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """A price table from a YAML/JSON file or a mapping `{model: {prompt: USD/1M, completion: USD/1M}}`."""
    where = str(source) if isinstance(source, str | Path) else "the price table"
    if isinstance(source, str | Path):
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"--llm-prices {source}: cannot read it ({exc.strerror or exc})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--llm-prices {source}: not valid YAML or JSON ({exc})") from None
    else:
        data = source
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a price table maps model names to {{prompt: USD/1M, completion: USD/1M}}")
    table: dict[str, tuple[float, float]] = {}
    for model, price in data.items():
        if not isinstance(price, Mapping) or not all(_number(price.get(k)) for k in ("prompt", "completion")):
            raise ConfigError(f"{where}: model {model!r} needs numbers `prompt` and `completion` (USD per 1M "
                              f"tokens), got {price!r}")  # fmt: skip
        table[str(model)] = (float(price["prompt"]), float(price["completion"]))
    return table


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def run_usage(calls: Iterable[Mapping[str, Any]], prices: Prices | None = None) -> tuple[Usage, float | None] | None:
    """A run's usage and cost from its journal rows of kind `llm` (request body: the model; response body: the
    usage); None when the run made no model call."""
    pairs = []
    for call in calls:
        if call.get("kind") != "llm":
            continue
        usage = usage_of(call.get("response_body") or "") or Usage()
        pairs.append((_model(call.get("request_body")), usage))
    return total(pairs, prices) if pairs else None


def _model(request_body: Any) -> str:
    try:
        body = json.loads(request_body) if isinstance(request_body, str) else request_body
    except ValueError:
        return ""
    return str(body.get("model", "")) if isinstance(body, dict) else ""
