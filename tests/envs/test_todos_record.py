"""envs/todos: recording its training script through hudproxy (a real API, the real recording proxy) gives the
cassette committed as cassettes/todos.yaml, and the same resource model."""

from __future__ import annotations

from pathlib import Path

from envs.todos.record import record
from hudproxy.cassette.files import load_cassette
from hudproxy.resources.learn import learn_model

COMMITTED = Path(__file__).resolve().parents[2] / "cassettes" / "todos.yaml"


def test_recording_the_training_script_reproduces_the_committed_cassette(tmp_path: Path) -> None:
    steps = record(tmp_path / "todos.yaml")
    fresh, committed = load_cassette(tmp_path / "todos.yaml"), load_cassette(COMMITTED)
    shape = [(i.request.method, i.request.path, i.request.query_string, i.response.status)
             for i in fresh.interactions]  # fmt: skip
    assert shape == [(i.request.method, i.request.path, i.request.query_string, i.response.status)
                     for i in committed.interactions]  # fmt: skip
    assert [status for _, _, status in steps] == [s for *_, s in shape]
    learned, expected = learn_model(fresh), learn_model(committed)
    assert [r.to_dict()["rules"][0]["rule"] for r in learned.resources] == ["users.read", "users.todos.read"]
    for mine, theirs in zip(learned.resources, expected.resources, strict=True):
        assert [rule.name for rule in mine.rules()] == [rule.name for rule in theirs.rules()]
        assert mine.baseline == theirs.baseline and mine.id_style == theirs.id_style
