"""Rubric scores in the results database, and re-grading offline: real evals (the shop in-process, the todos env on
a generalising replay, the notes env on its own SQLite copy per run) write real results files; `hudproxy report`
and `hudproxy grade` read them back as subprocesses, and `grade_runs` re-scores without running anything."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hudproxy.env import Final, ToolCall
from hudproxy.errors import ConfigError
from hudproxy.evaluation import run_eval
from hudproxy.evaluation.regrade import grade_runs
from hudproxy.grading import JudgeRequest, JudgeVerdict, load_rubric
from hudproxy.grading.endstate import db_key
from tests.evaluation.eval_helpers import NOTES, SHOP

ROOT = Path(__file__).resolve().parents[2]
TODOS = ROOT / "envs" / "todos"
CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
pytestmark = pytest.mark.anyio


def shop_agent(scenario: str, args: dict[str, Any]) -> list[Any]:
    """The shop's scripted plans, except that on A3 (already shipped) the agent does nothing at all."""
    from envs.shop.agents import scripted

    return [Final("done")] if args.get("order_id") == "A3" else scripted(scenario, args)


SHOP_TASKS = [
    {"scenario": "update-order", "args": {"order_id": "A1"}, "repeats": 2},
    {"scenario": "update-order", "args": {"order_id": "A3"}, "repeats": 2},
    {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}},
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=ENV, capture_output=True, text=True, timeout=120)


def stored(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def shop_results(tmp_path: Path) -> Path:
    out = tmp_path / "results.db"
    summary = asyncio.run(run_eval(SHOP, SHOP_TASKS, shop_agent, out=out, concurrency=4))
    assert summary.finished == 5 and summary.errors == 0
    return out


async def test_scores_are_stored_per_run_with_evidence_from_the_journal(shop_results: Path) -> None:
    rows = stored(shop_results, "select r.scenario, json_extract(r.args, '$.order_id'), s.criterion, s.kind, "
                                "s.status, s.value, s.weight, s.evidence from scores s join runs r on r.id = s.run_id "
                                "order by s.id")  # fmt: skip
    a1 = [r[2:7] for r in rows if r[1] == "A1"][:4]
    assert a1 == [("acted: true", "gate", "passed", 1.0, 0.0), ("never: DELETE", "gate", "passed", 1.0, 0.0),
                  ("status", "call", "met", 1.0, 1.0), ("used_update_tool", "call", "met", 1.0, 0.0)]  # fmt: skip
    a3_gate = next(r for r in rows if r[1] == "A3" and r[2] == "acted: true")
    assert a3_gate[4:6] == ("violated", 0.0)
    assert json.loads(a3_gate[7])["reason"] == "the agent changed nothing (0 call(s), none a write)"
    refund = next(r for r in rows if r[2] == "refund")
    (run_id,) = stored(shop_results, "select id from runs where scenario = 'refund-order'")[0]
    posted = stored(shop_results, "select seq from calls where run_id = ? and method = 'POST' and path = '/refunds'",
                    run_id)  # fmt: skip
    assert json.loads(refund[7])["calls"] == [posted[0][0]]  # the evidence names the journal row by its seq
    rewards = dict(stored(shop_results, "select json_extract(args, '$.order_id'), avg(reward) from runs "
                                        "group by 1"))  # fmt: skip
    assert rewards == {"A1": 1.0, "A3": 0.0, "A2": 1.0}
    (end_state,) = stored(shop_results, "select state from end_states where run_id = ?", run_id)[0:1]
    assert json.loads(end_state[0])["services"]["MockMailer"]["sent"][0]["to"] == "carol"


async def test_regrading_with_the_same_rubric_gives_the_stored_scores(shop_results: Path) -> None:
    regraded = {r.run_id: r for r in grade_runs(shop_results, SHOP / "rubrics/update-order.yaml",
                                                scenario="update-order")}  # fmt: skip
    stored_rows = stored(shop_results, "select s.run_id, s.criterion, s.status, s.value, s.evidence from scores s "
                                       "join runs r on r.id = s.run_id where r.scenario = 'update-order' "
                                       "order by s.id")  # fmt: skip
    again = [(run_id, row["criterion"], row["status"], row["value"], row["evidence"])
             for run_id, r in regraded.items() for row in r.grade.rows()]  # fmt: skip
    assert sorted(again, key=str) == sorted([(*r[:4], json.loads(r[4])) for r in stored_rows], key=str)
    assert {r.run_id: r.grade.reward for r in regraded.values()} == {
        r.run_id: r.stored_reward for r in regraded.values()
    }


async def test_a_fixed_rubric_rescores_stored_runs_with_a_judge_and_says_what_it_cannot_know(
    shop_results: Path, tmp_path: Path
) -> None:
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text("""\
gates:
  - acted: true
criteria:
  - name: status
    weight: 2
    call: {method: PATCH, path: "/orders/{{order_id}}", where: "response.status == '{{status}}'"}
  - name: answered done
    answer: {regex: "^done$"}
  - name: listed first
    call: {tool: list_orders}
  - name: customer's view
    read: {tool: get_customer, arguments: {order_id: "{{order_id}}"}}
  - name: says it is done
    judge: "The final answer says the order was updated."
""")
    asked: list[JudgeRequest] = []

    def judge(request: JudgeRequest) -> JudgeVerdict:  # a person's judge function, through the Judge seam
        asked.append(request)
        return JudgeVerdict("done" in request.transcript, "the answer says done")

    without = grade_runs(shop_results, fixed, scenario="update-order")
    judged = grade_runs(shop_results, fixed, judge, scenario="update-order")

    a1 = next(r for r in without if r.grade.reward > 0)
    by_name = {c.name: c for c in a1.grade.criteria}
    assert by_name["says it is done"].reason == "no judge configured" and by_name["says it is done"].value is None
    assert by_name["customer's view"].status == "n/a"
    assert "was not read at the end of this run" in by_name["customer's view"].reason
    assert (by_name["status"].status, by_name["answered done"].status, by_name["listed first"].status) == (
        "met", "met", "unmet")  # fmt: skip
    assert a1.grade.reward == pytest.approx(3 / 4)  # status 2 + answer 1 of 4 applicable weight
    a1_judged = next(r for r in judged if r.run_id == a1.run_id)
    verdict = next(c for c in a1_judged.grade.criteria if c.name == "says it is done")
    assert (verdict.status, verdict.evidence["judge"]) == ("met", "the answer says done")
    assert a1_judged.grade.reward == pytest.approx(4 / 5)
    assert asked and any("PATCH /orders/A1" in line for line in asked[0].evidence + asked[-1].evidence)
    assert {r.grade.reward for r in judged if r.stored_reward == 0.0} == {0.0}  # A3: the gate still holds


def test_report_and_grade_on_the_command_line(shop_results: Path, tmp_path: Path) -> None:
    table = cli("report", str(shop_results))
    assert table.returncode == 0, table.stderr
    assert "update-order" in table.stdout and "used_update_tool" in table.stdout and "acted: true" in table.stdout
    report = json.loads(cli("report", str(shop_results), "--json").stdout)
    (evaluation,) = report["evals"]
    update = evaluation["scenarios"]["update-order"]
    assert (update["runs"], update["mean_reward"]) == (4, 0.5)
    assert update["criteria"]["acted: true"] == {"kind": "gate", "weight": 0.0, "mean": 0.5, "passed": 2,
                                                 "violated": 2}  # fmt: skip
    assert update["criteria"]["used_update_tool"]["mean"] == 0.5
    run_id = stored(shop_results, "select id from runs where json_extract(args, '$.order_id') = 'A3' limit 1")[0][0]
    one = json.loads(cli("report", str(shop_results), "--run", run_id, "--json").stdout)
    assert one["reward"] == 0.0 and one["scores"][0]["status"] == "violated"
    shown = cli("report", str(shop_results), "--run", run_id)
    assert "the agent changed nothing" in shown.stdout and f"run {run_id}" in shown.stdout

    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("criteria:\n  - name: said done\n    answer: {regex: done}\n")
    regraded = cli("grade", str(shop_results), "--rubric", str(lenient), "-s", "update-order", "--json")
    assert regraded.returncode == 0, regraded.stderr
    assert sorted(r["reward"] for r in json.loads(regraded.stdout)) == [1.0, 1.0, 1.0, 1.0]  # no gate: A3 passes
    saved = cli("grade", str(shop_results), "--rubric", str(lenient), "-s", "update-order", "--save")
    assert saved.returncode == 0 and "saved to" in saved.stdout
    after = json.loads(cli("report", str(shop_results), "--json").stdout)["evals"][0]["scenarios"]["update-order"]
    assert after["mean_reward"] == 1.0 and list(after["criteria"]) == ["said done"]


@pytest.mark.parametrize(("args", "message"), [
    (["grade", "{db}", "--rubric", "{bad}"], "bad.yaml:3: criterion 'x': call.times: Input should be greater"),
    (["grade", "{db}", "--rubric", "{db}.missing"], "cannot read the rubric"),
    (["grade", "{bad}", "--rubric", "{needs}"], "not a SQLite database"),
    (["report", "{db}", "--run", "nope"], "no run 'nope'"),
    (["report", "{db}", "--eval", "nope"], "no eval 'nope'"),
    (["grade", "{db}", "--rubric", "{needs}"], "the rubric uses {{amount}} but the arguments are: order_id, status"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(shop_results: Path, tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("criteria:\n  - name: x\n    call: {times: -1}\n")
    needs = tmp_path / "needs.yaml"
    needs.write_text("criteria:\n  - name: x\n    call: {json_contains: {amount: '{{amount}}'}}\n")
    filled = [a.format(db=shop_results, bad=bad, needs=needs) for a in args]
    if filled[-1] == str(needs):
        filled += ["-s", "update-order"]
    result = cli(*filled)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


async def test_a_task_files_rubric_reads_the_runs_own_database(tmp_path: Path) -> None:
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "notes.yaml").write_text("""\
gates:
  - called: {tool: write_note}
criteria:
  - name: the note is stored
    db: {sql: "select key from notes order by key", expect: [{key: "{{key}}"}, {key: seed-1}, {key: seed-2}]}
  - name: nothing else written
    db: {sql: "select count(*) as n from notes", where: "rows[0].n == 3"}
""")
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("- {scenario: own-note, args: {key: a-note}, rubric: rubrics/notes.yaml, repeats: 3}\n")
    out = tmp_path / "results.db"

    def twice(scenario: str, args: dict[str, Any]) -> list[Any]:  # writes the note and one more
        return [ToolCall("write_note", {"key": args["key"]}), ToolCall("write_note", {"key": "b-extra"}), Final("ok")]

    good = await run_eval(NOTES, tasks, "scripted", out=out)
    extra = await run_eval(NOTES, tasks, twice, out=out)
    assert (good.mean_reward, extra.mean_reward) == (1.0, 0.0)
    rows = stored(out, "select s.criterion, s.status from scores s join runs r on r.id = s.run_id "
                       "where r.eval_id = ? and s.kind = 'db'", extra.eval_id)  # fmt: skip
    assert set(rows) == {("the note is stored", "unmet"), ("nothing else written", "unmet")}
    (state,) = stored(out, "select state from end_states e join runs r on r.id = e.run_id where r.eval_id = ? "
                           "limit 1", good.eval_id)[0]  # fmt: skip
    keys = json.loads(state)["db"][db_key("default", "select key from notes order by key")]["rows"]
    assert keys == [{"key": "a-note"}, {"key": "seed-1"}, {"key": "seed-2"}]


async def test_state_and_collateral_damage_on_a_generalising_replay(tmp_path: Path) -> None:
    rubric = tmp_path / "todo.yaml"
    rubric.write_text("""\
gates:
  - acted: true
criteria:
  - name: the todo exists, open
    state: {"/users/{{user_id}}/todos/*": {title: "{{title}}", done: false}}
    nothing_else_changed: true
  - name: checked the list after adding
    order: [{tool: create_todo}, {tool: list_todos}]
""")
    tasks = [{"scenario": "add-todo", "args": {"title": "sow beans"}}]

    def clumsy(scenario: str, args: dict[str, Any]) -> list[Any]:  # adds it, and deletes someone else's todo
        return [ToolCall("create_todo", {"user_id": 1, "title": args["title"], "done": False}),
                ToolCall("delete_todo", {"user_id": 2, "todo_id": 4}), ToolCall("list_todos", {"user_id": 1}),
                Final("done")]  # fmt: skip

    out = tmp_path / "results.db"
    tidy = await run_eval(TODOS, [{**t, "rubric": str(rubric)} for t in tasks], "scripted", out=out, generalise=True)
    messy = await run_eval(TODOS, [{**t, "rubric": str(rubric)} for t in tasks], clumsy, out=out, generalise=True)
    assert tidy.mean_reward == 1.0
    assert messy.mean_reward == pytest.approx(0.75)  # state 1/2 (collateral damage) + order 1, weights 1 and 1
    (evidence,) = stored(out, "select s.evidence from scores s join runs r on r.id = s.run_id "
                              "where r.eval_id = ? and s.kind = 'state'", messy.eval_id)[0]  # fmt: skip
    found = json.loads(evidence)
    assert found["collateral"] == ["deleted /users/2/todos/4"] and found["paths"] == ["/users/1/todos/7"]
    offline = {r.run_id: r.grade.reward for r in grade_runs(out, load_rubric(rubric))}
    assert sorted(offline.values()) == [0.75, 1.0]  # the stored end state answers the state criterion again


@pytest.mark.parametrize(("rubric", "message"), [
    ("criteria:\n  - name: x\n    call: {json_contains: {amount: '{{amount}}'}}\n",
     "tasks.yaml:1: {rubric}: the rubric uses {{{{amount}}}} but the arguments are: order_id, status"),
    ("criteria:\n  - name: x\n    call: {method: POST, times: many}\n",
     "{rubric}:3: criterion 'x': call.times: Input should be a valid integer"),
])  # fmt: skip
async def test_a_tasks_rubric_is_checked_before_any_run(tmp_path: Path, rubric: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(rubric)
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("- {scenario: update-order, args: {order_id: A1}, rubric: r.yaml}\n")
    out = tmp_path / "results.db"
    with pytest.raises(ConfigError) as caught:
        await run_eval(SHOP, tasks, "scripted", out=out)
    assert message.format(rubric=path) in str(caught.value) and "\n" not in str(caught.value)
    assert not out.exists()  # nothing ran, nothing was written
