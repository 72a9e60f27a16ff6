"""What scrubbing costs, side by side with scrubbing off: recording one exchange, and matching one live request.

    python bench/scrub_bench.py [--repeat 5]

Rows: a small API call (bearer header, api_key query, small JSON body) and a 43 KB LLM-style prompt (40
messages). Columns: microseconds per operation with the default policy and, for matching, with --keep-secrets
(the floor: parsing and hashing the body without looking for secrets), and their ratio. The best of `--repeat`
runs is reported, since the machine is shared. One request object is matched again and again, so its header
and query secrets are collected once (as for each live request across its path, query and body keys).
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

from hudproxy.interaction.model import Interaction, Request
from hudproxy.matching.aspects import BodyMatcher, PathMatcher, QueryMatcher
from hudproxy.matching.policy import MatchPolicy
from hudproxy.scrub import ScrubPolicy, scrub_interaction
from hudproxy.testing import make_request, make_response


def requests() -> dict[str, Request]:
    small = make_request(
        "POST",
        url="http://api.test/orders?page=2&api_key=abc123456",
        headers=[("Authorization", "Bearer tok123456789"), ("Content-Type", "application/json"), ("Accept", "*/*")],
        json={"order_id": "A1", "items": [{"sku": "S1", "qty": 2}], "note": "hello"},
    )
    text = "lorem ipsum dolor sit amet " * 40
    messages = [{"role": "user" if i % 2 else "assistant", "content": text} for i in range(40)]
    big = make_request(
        "POST",
        url="http://api.test/v1/messages",
        headers=[("x-api-key", "sk-ant-" + "x" * 40), ("Content-Type", "application/json")],
        json={"model": "m", "max_tokens": 100, "messages": messages},
    )
    return {"small call": small, f"{len(big.body) // 1024} KB prompt": big}


def best_us(action: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(action, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    matchers = (PathMatcher(), QueryMatcher(), BodyMatcher())
    response = make_response(json={"id": "x", "content": [{"type": "text", "text": "lorem ipsum " * 200}]})
    print(f"{'operation':<28}{'scrubbing on':>14}{'off':>10}{'ratio':>8}")
    for name, request in requests().items():
        number = 500 if name == "small call" else 50
        exchange = Interaction(request=request, response=response)
        for label, operation in (("record", record), ("match", match)):
            a, b = (
                best_us(operation(exchange, policy, matchers), number, args.repeat)
                for policy in (ScrubPolicy.default(), ScrubPolicy.disabled())
            )
            if label == "record":  # scrubbing off returns the exchange untouched: there is no floor to show
                print(f"{label + ' ' + name:<28}{a:>12.1f}us{'-':>10}{'-':>8}")
            else:
                print(f"{label + ' ' + name:<28}{a:>12.1f}us{b:>8.1f}us{a / b if b else 0:>8.1f}")


def record(exchange: Interaction, policy: ScrubPolicy, matchers: tuple[Any, ...]) -> Callable[[], object]:
    return lambda: scrub_interaction(exchange, policy)


def match(exchange: Interaction, policy: ScrubPolicy, matchers: tuple[Any, ...]) -> Callable[[], object]:
    match_policy = MatchPolicy.build(scrub=policy)
    return lambda: [m.key(exchange.request, match_policy) for m in matchers]


if __name__ == "__main__":
    main()
