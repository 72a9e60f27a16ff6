"""Chat-completions bodies matched as conversations: volatile fields ignored, spelling normalised, a miss named by
the turn and field that differ; and a tool's JSON-Schema parameters never scrubbed as if they were secrets."""

from __future__ import annotations

import copy
import json
from typing import Any

from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.matching.index import CassetteIndex
from hudproxy.matching.policy import MatchPolicy
from hudproxy.replay.engine import ReplayEngine
from hudproxy.replay.state import ReplayState
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_request

URL = "https://api.example.test/v1/chat/completions"
TOOLS = [{"type": "function", "function": {"name": "refund", "parameters": {"type": "object", "properties": {
    "order_id": {"type": "string"}, "authorization": {"type": "string"}, "amount": {"type": "number"}}}}}]  # fmt: skip


def conversation() -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": "refund", "arguments": '{"order_id": "A2"}'}}
    return {
        "model": "gpt-4o-mini", "temperature": 0.2, "tools": TOOLS, "tool_choice": "auto",
        "messages": [
            {"role": "system", "content": "You are a shop assistant."},
            {"role": "user", "content": "Refund order A2."},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"refunded": 12.5}'},
        ],
    }  # fmt: skip


def chat(body: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> Request:
    return Request("POST", URL, (("content-type", "application/json"), *headers), json.dumps(body).encode())


def index_of(*bodies: dict[str, Any]) -> CassetteIndex:
    recorded = [Interaction(chat(b), Response(200, body=b"{}"), index=n) for n, b in enumerate(bodies)]
    return CassetteIndex(recorded, MatchPolicy.build())


def test_volatile_fields_and_spelling_do_not_change_the_match() -> None:
    index = index_of(conversation())
    live = conversation()
    live |= {"user": "u-8812", "stream_options": {"include_usage": True}, "metadata": {"trace": "x1"},
             "request_id": "req-19"}  # fmt: skip
    live["messages"][2]["tool_calls"][0]["function"]["arguments"] = '{ "order_id" : "A2" }'  # the same JSON
    live["messages"][1]["content"] = [{"type": "text", "text": "Refund order A2."}]  # text parts: the same text
    assert index.candidates(chat(live)) == [0]


def test_what_decides_the_answer_decides_the_match() -> None:
    index = index_of(conversation())
    for change in ({"temperature": 0.9}, {"model": "gpt-4o"}, {"tool_choice": "none"},
                   {"response_format": {"type": "json_object"}}, {"tools": []}, {"seed": 3}):  # fmt: skip
        assert index.candidates(chat(conversation() | change)) is None, change


def test_a_miss_names_the_turn_and_field_that_differ() -> None:
    index = index_of(conversation())
    live = conversation()
    live["messages"][3]["content"] = '{"refunded": 0}'
    live["messages"][2]["tool_calls"][0]["function"]["arguments"] = '{"order_id": "A9"}'
    (near,) = index.nearest(chat(live), limit=1)
    assert near.differences == [
        'body.messages[2] (turn 3, assistant).tool_calls[0].function.arguments.order_id: "A9" (recorded "A2")',
        'body.messages[3] (turn 4, tool).content: "{\\"refunded\\": 0}" (recorded "{\\"refunded\\": 12.5}")',
    ]


def test_a_miss_says_where_the_conversation_goes_on() -> None:
    longer = conversation()
    longer["messages"].append({"role": "assistant", "content": "Refunded."})
    index = index_of(longer)
    (near,) = index.nearest(chat(conversation() | {"temperature": 0.3}), limit=1)
    assert near.differences == [
        "body.messages: 4 turns (recorded 5); the recording goes on with turn 5 (assistant)",
        "body.temperature: 0.3 (recorded 0.2)",
    ]


def test_the_engine_logs_the_turn_for_a_replayed_miss(caplog: Any) -> None:
    engine = ReplayEngine(index_of(conversation()))
    live = conversation()
    live["messages"][1]["content"] = "Refund order A3."
    outcome = engine.handle(chat(live), ReplayState())
    assert outcome.response.status == 501
    assert 'body.messages[1] (turn 2, user).content: "Refund order A3." (recorded "Refund order A2.")' in caplog.text


def test_a_tool_parameter_named_like_a_secret_is_not_scrubbed() -> None:
    body = conversation() | {"password": "hunter2"}
    scrubbed = json.loads(scrub_request(chat(body), ScrubPolicy.default()).body)
    assert scrubbed["tools"] == TOOLS  # "string" under `authorization` is a type, not a secret to hide everywhere
    assert scrubbed["password"].startswith("SCRUBBED:password")  # data named like a secret still is


def test_each_session_replays_the_answers_recorded_in_it() -> None:
    """The same request recorded by two runs: each run's session gets its own answer, whatever the order."""
    body = conversation()
    recorded = [
        Interaction(chat(body, (("X-Hudproxy-Session", f"run-{n}"),)), Response(200, body=f"answer {n}".encode()),
                    index=n)
        for n in (0, 1)
    ]  # fmt: skip
    engine = ReplayEngine(CassetteIndex(recorded, MatchPolicy.build()))
    second, first = ReplayState("run-1"), ReplayState("run-0")
    assert engine.handle(chat(copy.deepcopy(body)), second).response.body == b"answer 1"
    assert engine.handle(chat(body), first).response.body == b"answer 0"
    assert engine.handle(chat(body), ReplayState("run-7")).response.body == b"answer 0"  # unknown run: in order
