"""`--openapi FILE`: a document's paths override the templates clustering infers. A slug (`/notes/groceries`)
looks like no id, so the recording alone teaches nothing; `/notes/{slug}` in the document makes it a resource,
and unrecorded creates, reads and lists are answered. Real files, a real replay server, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from hudproxy import Replay
from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.errors import ConfigError
from hudproxy.resources.documents import load_openapi
from hudproxy.resources.learn import learn_model
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

API = "http://notes.test"
CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
DOCUMENT = {"openapi": "3.0.0", "info": {"title": "notes", "version": "1"},
            "paths": {"/notes": {"get": {}, "post": {}}, "/notes/{slug}": {"get": {}}}}  # fmt: skip


@pytest.fixture
def notes(tmp_path: Path) -> tuple[Path, Path]:
    """(cassette, OpenAPI YAML): notes keyed by slug, one read, one list, one create."""
    interactions = [
        make_interaction(make_request("GET", f"{API}/notes/groceries"),
                         make_response(json={"slug": "groceries", "text": "milk"})),
        make_interaction(make_request("GET", f"{API}/notes"),
                         make_response(json=[{"slug": "groceries", "text": "milk"}])),
        make_interaction(make_request("POST", f"{API}/notes", json={"slug": "chores", "text": "dishes"}),
                         make_response(201, json={"slug": "chores", "text": "dishes"})),
    ]  # fmt: skip
    document = tmp_path / "notes.openapi.yaml"
    document.write_text(yaml.safe_dump(DOCUMENT))
    return save_cassette(make_cassette(interactions), tmp_path / "notes.yaml"), document


def test_the_documents_templates_override_inference(notes: tuple[Path, Path]) -> None:
    cassette, document = notes
    recording = load_cassette(cassette)
    assert learn_model(recording).resources == []  # slugs look like no id: nothing to learn from the paths alone
    model = learn_model(recording, load_openapi(document))
    (resource,) = model.resources
    assert (resource.name, resource.id_field, resource.item.text) == ("notes", "slug", "/notes/{id}")
    assert {"template": "/notes/{id}", "from": "openapi", "interactions": [0]} in model.templates


def test_replay_with_openapi_answers_unrecorded_calls(notes: tuple[Path, Path]) -> None:
    cassette, document = notes
    with Replay(cassette, generalise=True, openapi=document) as replay:
        base = replay.session("s").base_url
        made = httpx.post(f"{base}/notes", json={"slug": "bills", "text": "pay"}, trust_env=False)
        read = httpx.get(f"{base}/notes/bills", trust_env=False)
        listed = httpx.get(f"{base}/notes", trust_env=False)
    assert (made.status_code, made.headers["x-hudproxy-synthesized"]) == (201, "notes.create")
    assert read.json() == {"slug": "bills", "text": "pay"}
    assert [n["slug"] for n in listed.json()] == ["bills", "groceries"]
    with Replay(cassette, generalise=True) as plain:  # without the document the same create is a miss
        missed = httpx.post(f"{plain.base_url}/notes", json={"slug": "bills", "text": "pay"}, trust_env=False)
        assert missed.status_code == 501


def test_inspect_model_shows_the_documents_templates_and_bad_input_is_one_line(
    notes: tuple[Path, Path], tmp_path: Path
) -> None:
    cassette, document = notes
    shown = subprocess.run([*CLI, "inspect", str(cassette), "--model", "--openapi", str(document), "--json"],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert [r["name"] for r in json.loads(shown.stdout)["resources"]] == ["notes"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.0.0\ninfo: {}\n")
    for args, said in (
        (["inspect", str(cassette), "--model", "--openapi", str(broken)], f"--openapi {broken}: no `paths` object"),
        (["replay", str(cassette), "--openapi", str(document)], "give --generalise too"),
    ):
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        out = result.stdout + result.stderr
        assert result.returncode == 2 and said in out and "Traceback" not in out, out
    with pytest.raises(ConfigError, match="cannot read it"):
        load_openapi(tmp_path / "missing.yaml")


def test_the_documents_parameter_names_the_id_field_where_the_recording_is_ambiguous() -> None:
    """Two fields equal the path's value; inference takes the first, the document's `{slug}` names the right one."""
    notes = [{"number": n, "slug": n, "text": "milk"} for n in ("A7", "A8")]
    cassette = make_cassette([
        *(make_interaction(make_request("GET", f"{API}/notes/{n['slug']}"), make_response(json=n)) for n in notes),
        make_interaction(make_request("GET", f"{API}/notes"), make_response(json=notes)),
    ])  # fmt: skip
    inferred = {r.name: r.id_field for r in learn_model(cassette).resources}
    documented = {r.name: r.id_field for r in learn_model(cassette, openapi=DOCUMENT).resources}
    assert inferred == {"notes": "number"}
    assert documented == {"notes": "slug"}


def test_a_documented_parameter_ending_in_id_falls_back_to_the_id_field() -> None:
    document = {"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
                "paths": {"/todos": {"get": {}}, "/todos/{todo_id}": {"get": {}}}}  # fmt: skip
    cassette = make_cassette([
        make_interaction(make_request("GET", f"{API}/todos/7"), make_response(json={"id": 7, "rank": 7})),
        make_interaction(make_request("GET", f"{API}/todos"), make_response(json=[{"id": 7, "rank": 7}])),
    ])  # fmt: skip
    assert {r.name: r.id_field for r in learn_model(cassette, openapi=document).resources} == {"todos": "id"}
