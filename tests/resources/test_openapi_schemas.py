"""`--openapi FILE` supplies schemas: a synthesized write whose body breaks its schema is refused (in the API's
recorded validation style when the cassette has one), a create fills what the server sets, and a resource the
document declares but nobody recorded is served from the schemas. Compared with the real todos service (its own
OpenAPI document written to a file), over real sockets with httpx."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from envs.todos.client import run_script
from envs.todos.service import create_app
from envs.todos.walks import comparable
from hudproxy import Replay
from hudproxy.cassette.files import load_cassette
from hudproxy.journal.query import read_calls
from hudproxy.record.background import recording_proxy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.resources.learn import learn_model
from hudproxy.resources.render import model_lines

TODOS = Path(__file__).resolve().parents[2] / "cassettes" / "todos.yaml"
Serve = Callable[[Any], str]


@pytest.fixture
def document(tmp_path: Path) -> Path:
    """The todos service's own OpenAPI document (FastAPI's), as a file."""
    path = tmp_path / "todos.openapi.json"
    path.write_text(json.dumps(create_app().openapi()))
    return path


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, comparable(response.json()) if response.content else None


LABEL_WALK: list[tuple[str, str, Any]] = [
    ("GET", "/labels", None),
    ("POST", "/labels", {"name": "urgent"}),  # color: the schema's default; created_at: set by the server
    ("POST", "/labels", {"name": "home", "color": "green"}),
    ("GET", "/labels/1", None),
    ("PATCH", "/labels/1", {"color": "red"}),
    ("GET", "/labels?color=red", None),
    ("DELETE", "/labels/2", None),
    ("GET", "/labels/2", None),
    ("PATCH", "/labels/2", {"name": "gone"}),
    ("GET", "/labels", None),
]


def test_a_resource_only_the_document_declares_is_served_from_its_schemas(upstream: Serve, document: Path) -> None:
    live = upstream(create_app())
    with Replay(TODOS, generalise=True, openapi=document) as replay, httpx.Client(trust_env=False) as client:
        mock = replay.session("labels").base_url
        for method, path, body in LABEL_WALK:
            real = client.request(method, live + path, json=body)
            got = client.request(method, mock + path, json=body)
            assert answer(got) == answer(real), (method, path)
            assert got.headers["x-hudproxy-synthesized"].startswith("labels.")
    assert answer(real)[1] == [{"id": 1, "name": "urgent", "color": "red", "created_at": "<timestamp>"}]
    model = learn_model(load_cassette(TODOS), json.loads(document.read_text()))
    assert model.by_name["labels"].source == "openapi" and model.by_name["users.todos"].source == "recording"
    shown = "\n".join(model_lines(model))
    assert "labels: /labels and /labels/{id}; from the OpenAPI document (no interaction recorded)" in shown
    assert "created_at: set by the server (readOnly in the OpenAPI schema" in shown
    with Replay(TODOS, generalise=True) as plain:  # without the document labels are unknown
        assert httpx.get(f"{plain.base_url}/labels", trust_env=False).status_code == 501


INVALID: list[tuple[str, str, Any, set[str]]] = [
    ("POST", "/users/1/todos", {"done": "maybe"}, {"title", "done"}),  # missing, and the wrong type
    ("PUT", "/users/1/todos/2", {"title": "x"}, {"done"}),  # PUT replaces: done is required
    ("POST", "/labels", {"name": "x", "color": "pink"}, {"color"}),  # not one of the enum's values
    ("POST", "/users", {"name": "x"}, {"email"}),
]


def test_a_body_that_breaks_the_schema_gets_a_compact_422_naming_each_field(upstream: Serve, document: Path) -> None:
    live = upstream(create_app())
    with Replay(TODOS, generalise=True, openapi=document) as replay, httpx.Client(trust_env=False) as client:
        mock = replay.session("invalid").base_url
        for method, path, body, fields in INVALID:
            real = client.request(method, live + path, json=body)
            got = client.request(method, mock + path, json=body)
            assert got.status_code == real.status_code == 422
            assert {e["loc"][-1] for e in real.json()["detail"]} == fields
            assert got.json()["error"] == "validation_failed"
            assert {e["field"] for e in got.json()["errors"]} == fields
            assert got.headers["x-hudproxy-synthesized"].endswith(".invalid")
        problems = {e["field"]: e["problem"] for e in got.json()["errors"]}
        pink = client.post(f"{mock}/labels", json={"name": "x", "color": "pink"}).json()["errors"]
        after = client.get(f"{mock}/users/1/todos/2").json()  # the refused PUT changed nothing
    assert problems == {"email": "is required"}
    assert pink == [{"field": "color", "problem": 'must be one of "grey", "red", "green", "blue"'}]
    assert after["title"] == "write report"


def test_the_recorded_validation_style_is_reproduced_and_journaled(
    upstream: Serve, document: Path, tmp_path: Path
) -> None:
    """The recording holds one rejected create ({"title": ""}): other invalid bodies are answered in its shape,
    with each field, message and rejected value where the API put them."""
    cassette = tmp_path / "todos.yaml"
    target = upstream(create_app())
    with recording_proxy(Recorder(cassette, RecordMode.ALL, target=target), target) as proxy:
        run_script(proxy)
        rejected = httpx.post(f"{proxy}/users/1/todos", json={"title": ""}, trust_env=False)
    assert rejected.status_code == 422
    model = learn_model(load_cassette(cassette), json.loads(document.read_text()))
    invalid = model.by_name["users.todos"].invalid
    assert invalid is not None and invalid.evidence == [len(load_cassette(cassette).interactions) - 1]
    entry = invalid.to_dict()["details"]["entry"]  # as `inspect --model --json` shows the learned style
    assert (entry["loc"], entry["msg"], entry["input"]) == (["body", "{field}"], "{message}", "{value}")
    live, journal = upstream(create_app()), tmp_path / "journal.db"
    body = {"title": 5, "done": "maybe"}
    pink = {"name": "x", "color": "pink"}
    with Replay(cassette, generalise=True, openapi=document, journal=journal) as replay:
        got = httpx.post(f"{replay.session('s').base_url}/users/1/todos", json=body, trust_env=False)
        label = httpx.post(f"{replay.session('s').base_url}/labels", json=pink, trust_env=False)
    real = httpx.post(f"{live}/users/1/todos", json=body, trust_env=False)
    real_label = httpx.post(f"{live}/labels", json=pink, trust_env=False)
    # labels were never recorded: one API, one style, so the todos' recorded rejection shapes their answer too
    assert [(e["loc"], e["input"]) for e in label.json()["detail"]] == [(["body", "color"], "pink")]
    assert [(e["loc"], e["input"]) for e in real_label.json()["detail"]] == [(["body", "color"], "pink")]
    assert got.status_code == real.status_code == 422
    assert got.headers["x-hudproxy-synthesized"] == "users.todos.invalid"
    wrong = [(["body", "title"], 5), (["body", "done"], "maybe")]
    assert [(e["loc"], e["input"]) for e in got.json()["detail"]] == wrong
    assert [(e["loc"], e["input"]) for e in real.json()["detail"]] == wrong
    assert all({"type", "loc", "msg", "input"} <= set(e) for e in got.json()["detail"])  # the recorded entry's keys
    assert [e["msg"] for e in got.json()["detail"]] == ["title must be a string", "done must be a boolean"]
    (row, _) = [c for c in read_calls(journal) if c.method == "POST"]
    assert (row.answered_by, row.rule, row.evidence) == ("model", "users.todos.invalid", invalid.evidence)


def test_a_recorded_create_gets_the_server_set_fields_the_schema_declares(tmp_path: Path) -> None:
    """The recorded create never showed `pinned` or `created_at`; the document says the server sets them. (A
    fresh session starts before the recorded create, so the new note takes its id.)"""
    from hudproxy.cassette import save_cassette
    from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

    api = "http://notes.test"
    note = {"type": "object", "properties": {
        "id": {"type": "integer", "readOnly": True}, "text": {"type": "string"},
        "pinned": {"type": "boolean", "readOnly": True},
        "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string"}, "default": []}}}  # fmt: skip
    created = {"201": {"description": "made", "content": {"application/json": {"schema": note}}}}
    document = {"openapi": "3.0.3", "info": {"title": "notes", "version": "1"}, "paths": {
        "/notes": {"post": {"requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
            "responses": created}},
        "/notes/{id}": {"get": {"responses": {
            "200": {"description": "one", "content": {"application/json": {"schema": note}}}}}}}}  # fmt: skip
    cassette = save_cassette(make_cassette([
        make_interaction(make_request("GET", f"{api}/notes/1"), make_response(json={"id": 1, "text": "a"})),
        make_interaction(make_request("POST", f"{api}/notes", json={"text": "b"}),
                         make_response(201, json={"id": 2, "text": "b"})),
    ]), tmp_path / "notes.yaml")  # fmt: skip
    path = tmp_path / "notes.openapi.json"
    path.write_text(json.dumps(document))
    with Replay(cassette, generalise=True, openapi=path) as replay:
        base = replay.session("s").base_url
        made = httpx.post(f"{base}/notes", json={"text": "c"}, trust_env=False)
        refused = httpx.post(f"{base}/notes", json={"text": 3}, trust_env=False)
    assert made.status_code == 201
    assert made.json() == {"id": 2, "text": "c", "pinned": False, "created_at": "2000-01-01T00:00:00Z", "tags": []}
    assert refused.status_code == 422 and refused.json()["errors"] == [{"field": "text", "problem": "must be a string"}]
