"""Rubric files: the issue's example loads, the YAML and the Python model are the same thing, and every malformed
rubric is one line naming the file, the line and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from hudproxy.grading import (
    AnswerCheck,
    CallCheck,
    CallMatch,
    Criterion,
    Gate,
    Rubric,
    RubricError,
    load_rubric,
)

EXAMPLE = """\
gates:                                   # any violated gate: reward 0, reason given
  - never: {method: DELETE}
  - never: {tool: charge_card}
  - acted: true                          # at least one write call: a do-nothing agent scores 0
criteria:
  - name: refunded once
    weight: 2
    call: {method: POST, path: /refunds, json_contains: {order_id: "{{order_id}}"}, times: 1}
  - name: looked before acting
    order: [{method: GET, path: "/orders/{{order_id}}"}, {method: POST, path: /refunds}]
  - name: amount within limit
    call: {method: POST, path: /refunds, where: "json.amount <= 50"}
  - name: final state
    state: {"/orders/{{order_id}}": {status: refunded}}
    nothing_else_changed: true           # collateral damage: any other created/updated/deleted item fails it
  - name: told the customer
    answer: {regex: "(?i)refund"}
  - name: clear and correct
    judge: "States the refunded amount and the order id."
"""


def write(tmp_path: Path, text: str, name: str = "rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issues_example_loads_and_equals_the_same_rubric_built_in_python(tmp_path: Path) -> None:
    loaded = load_rubric(write(tmp_path, EXAMPLE))
    built = Rubric(
        gates=[Gate(never=CallMatch(method="DELETE")), Gate(never=CallMatch(tool="charge_card")), Gate(acted=True)],
        criteria=[
            Criterion(name="refunded once", weight=2,
                      call=CallCheck(method="POST", path="/refunds", json_contains={"order_id": "{{order_id}}"},
                                     times=1)),
            Criterion(name="looked before acting", order=[CallMatch(method="GET", path="/orders/{{order_id}}"),
                                                          CallMatch(method="POST", path="/refunds")]),
            Criterion(name="amount within limit", call=CallCheck(method="POST", path="/refunds",
                                                                 where="json.amount <= 50")),
            Criterion(name="final state", state={"/orders/{{order_id}}": {"status": "refunded"}},
                      nothing_else_changed=True),
            Criterion(name="told the customer", answer=AnswerCheck(regex="(?i)refund")),
            Criterion(name="clear and correct", judge="States the refunded amount and the order id."),
        ],
    )  # fmt: skip
    assert loaded.model_dump() == built.model_dump()  # `source` (the file it came from) is left out of the dump
    assert loaded.source == str(tmp_path / "rubric.yaml")
    assert [c.kind for c in loaded.criteria] == ["call", "order", "call", "state", "answer", "judge"]
    assert loaded.placeholders() == {"order_id"}


def test_render_fills_placeholders_keeping_a_lone_placeholders_type(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, """\
criteria:
  - name: refund
    call: {method: POST, path: "/orders/{{order_id}}/refunds", json_contains: {amount: "{{amount}}"}}
"""))  # fmt: skip
    call = rubric.render({"order_id": "A7", "amount": 12.5}).criteria[0].call
    assert call is not None and (call.path, call.json_contains) == ("/orders/A7/refunds", {"amount": 12.5})
    with pytest.raises(ValueError, match=r"uses \{\{amount\}\} but the arguments are: order_id"):
        rubric.render({"order_id": "A7"})


MALFORMED = [
    pytest.param("criteria:\n  - name: a\n    call: {method: POST, pth: /x}\n",
                 ":3: criterion 'a': call.pth: unknown key", id="unknown-key"),
    pytest.param("criteria:\n  - name: a\n    call: {method: POST}\n  - name: b\n    call: {method: GET}\n"
                 "    answer: {regex: x}\n", ":4: criterion 'b': a criterion has exactly one of call, order",
                 id="two-kinds"),
    pytest.param("criteria:\n  - name: a\n    weight: 1\n    call:\n      method: POST\n"
                 "      where: \"__import__('os').system('rm -rf /')\"\n",
                 ":6: criterion 'a': call.where: `__import__('os').system('rm -rf /')`: the function 'system' is "
                 "not allowed", id="where-import"),
    pytest.param("criteria:\n  - name: a\n    call: {where: \"json.__class__\"}\n",
                 ":3: criterion 'a': call.where: `json.__class__`: `.__class__` (a private name) is not allowed",
                 id="where-dunder"),
    pytest.param("criteria:\n  - name: a\n    call: {where: \"(lambda: 1)()\"}\n",
                 "criterion 'a': call.where: `(lambda: 1)()`: Lambda is not allowed", id="where-lambda"),
    pytest.param("criteria:\n  - name: a\n    call: {where: \"json.amount <=\"}\n",
                 "criterion 'a': call.where: `json.amount <=` is not an expression", id="where-syntax"),
    pytest.param("criteria:\n  - name: a\n    answer: {regex: \"(unclosed\"}\n",
                 ":3: criterion 'a': answer.regex: `(unclosed` is not a regular expression", id="bad-regex"),
    pytest.param("gates:\n  - never: {method: DELETE}\n  - never: {method: PUT}\n    acted: true\n",
                 ":3: gate 2 (never): a gate is one of `never`, `called`, `acted`, `max_calls` (this one has never, "
                 "acted)", id="gate-two-kinds"),
    pytest.param("criteria:\n  - name: a\n    call: {times: 1, at_least: 2}\n",
                 ":3: criterion 'a': call: give `times`, or `at_least`/`at_most`, not both", id="times-and-at-least"),
    pytest.param("criteria:\n  - name: a\n    weight: -1\n    answer: {regex: x}\n",
                 ":3: criterion 'a': weight: Input should be greater than or equal to 0", id="negative-weight"),
    pytest.param("criteria:\n  - name: a\n    answer: {regex: x}\n  - name: a\n    answer: {regex: y}\n",
                 ":1: two criteria are named 'a'", id="duplicate-name"),
    pytest.param("criteria:\n  - call: {method: GET}\n", ":2: criterion 1: name: Field required", id="no-name"),
    pytest.param("criteria:\n  - name: a\n    call: {tool: x, method: POST}\n",
                 "criterion 'a': call: give either `tool` (an MCP call) or `method`/`path`", id="tool-and-method"),
    pytest.param("gates: []\ncriteria: []\n", ":1: a rubric needs at least one gate or criterion", id="nothing"),
    pytest.param("criteria:\n  - name: a\n\tcall: {}\n", ":3: not valid YAML", id="broken-yaml"),
    pytest.param("", "the rubric is empty", id="empty"),
    pytest.param("- name: a\n", ":1: a rubric is a mapping with `gates:` and `criteria:`", id="a-list"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_a_malformed_rubric_is_one_line_naming_file_line_and_rule(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    said = str(caught.value)
    assert "\n" not in said and said.startswith(str(path))
    assert message in said, said


def test_a_missing_rubric_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match=r"nope\.yaml: cannot read the rubric"):
        load_rubric(tmp_path / "nope.yaml")
