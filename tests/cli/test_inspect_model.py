"""`hudproxy inspect CASSETTE --model` (text and --json) on the two bundled recordings, run as the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUDPROXY = shutil.which("hudproxy") or "hudproxy"
ENV = {**os.environ, "COLUMNS": "200"}


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUDPROXY, "inspect", *args], capture_output=True, text=True, env=ENV, timeout=60)


def test_model_text_names_rules_their_evidence_and_the_gaps() -> None:
    done = inspect(str(ROOT / "cassettes" / "shop.yaml"), "--model")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "orders: /orders and /orders/{id}" in out
    assert "orders.patch: PATCH merges the request's fields → 200 with the item  [interaction 4]" in out
    assert "/orders/{id}  3 values, confirmed by interaction 1 (field 'id'); joined: ZZ" in out
    assert "status: from the request (default 'approved')" in out
    assert "GET /reports/daily: not a resource" in out and "[interaction 10]" in out


def test_model_json_has_nested_resources_and_rule_details() -> None:
    done = inspect(str(ROOT / "cassettes" / "todos.yaml"), "--model", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    todos = next(r for r in data["resources"] if r["name"] == "users.todos")
    assert (todos["parent"], todos["item"], todos["items_at_start"]) == ("users", "/users/{user_id}/todos/{id}", 6)
    rules = {r["rule"]: r for r in todos["rules"]}
    assert rules["users.todos.not-found"]["details"]["body"] == {"error": "not_found", "message": "todo {id} not found"}
    assert rules["users.todos.delete"]["evidence"] == [12]
    assert rules["users.todos.list"]["details"]["pagination"]["next_params"] == ["offset", "limit"]
    assert any(g["subject"] == "users.delete" for g in data["gaps"])


def test_model_of_a_missing_cassette_is_one_line(tmp_path: Path) -> None:
    done = inspect(str(tmp_path / "none.yaml"), "--model")
    assert done.returncode == 2
    assert "no such cassette file" in done.stderr and "Traceback" not in done.stderr


def test_why_says_what_generalise_would_do(tmp_path: Path) -> None:
    answered, missed = tmp_path / "patch.json", tmp_path / "delete.json"
    answered.write_text(json.dumps({"method": "PATCH", "url": "/orders/A5", "json": {"status": "paid"}}))
    missed.write_text(json.dumps({"method": "DELETE", "url": "/orders/A5"}))
    shop = str(ROOT / "cassettes" / "shop.yaml")
    done = inspect(shop, "--why", str(answered))
    assert done.returncode == 1, "no recording matches it (the exit code answers that question alone)"
    assert "with --generalise: answered by the model, rule orders.patch → 200 (interaction 4)" in done.stdout
    done = inspect(shop, "--why", str(missed))
    assert "with --generalise: still a miss: no DELETE /orders/{id} was recorded" in done.stdout
    data = json.loads(inspect(shop, "--why", str(answered), "--json").stdout)
    assert data["generalise"] == {"answered": True, "rule": "orders.patch", "status": 200, "evidence": [4]}


def test_openapi_schemas_in_the_model_and_in_why(tmp_path: Path) -> None:
    """The todos service's own document: `/labels` (never recorded) comes from it, and `--why` says a body that
    breaks its schema would be refused by the model."""
    from envs.todos.service import create_app

    document = tmp_path / "todos.openapi.json"
    document.write_text(json.dumps(create_app().openapi()))
    cassette = str(ROOT / "cassettes" / "todos.yaml")
    done = inspect(cassette, "--model", "--json", "--openapi", str(document))
    assert done.returncode == 0, done.stderr
    sources = {r["name"]: r["source"] for r in json.loads(done.stdout)["resources"]}
    assert sources == {"users": "recording", "users.todos": "recording", "labels": "openapi"}
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"method": "POST", "url": "http://127.0.0.1:1/labels", "json": {"name": 3}}))
    why = inspect(cassette, "--why", str(request), "--openapi", str(document))
    assert why.returncode == 1, why.stderr  # no recording matches (the model's verdict is on the last line)
    assert "answered by the model, rule labels.invalid → 422 (from the OpenAPI document" in why.stdout
