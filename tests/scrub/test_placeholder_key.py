"""Placeholders agree across processes (an eval's workers, a re-recording) and the key never reaches a file
hudproxy writes for the user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SHOW = (
    "from hudproxy.scrub.policy import ScrubPolicy; from hudproxy.scrub.scrubber import scrub_json;"
    "print(scrub_json({'password': 'hunter2'}, ScrubPolicy.default())['password'])"
)


def placeholder_in_a_new_process(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_two_processes_give_a_value_the_same_placeholder_from_the_users_key_file(tmp_path: Path) -> None:
    env = {**os.environ, "HUDPROXY_SCRUB_KEY_FILE": str(tmp_path / "scrub.key")}
    env.pop("HUDPROXY_SCRUB_KEY", None)
    first, second = placeholder_in_a_new_process(env), placeholder_in_a_new_process(env)
    assert first == second and first.startswith("SCRUBBED:password:")
    assert (tmp_path / "scrub.key").stat().st_mode & 0o777 == 0o600
    other = {**env, "HUDPROXY_SCRUB_KEY_FILE": str(tmp_path / "other.key")}
    assert placeholder_in_a_new_process(other) != first, "another key, another placeholder"


def test_the_environment_key_wins(tmp_path: Path) -> None:
    env = {**os.environ, "HUDPROXY_SCRUB_KEY_FILE": str(tmp_path / "scrub.key"), "HUDPROXY_SCRUB_KEY": "shared"}
    assert placeholder_in_a_new_process(env) == placeholder_in_a_new_process({**env, "HUDPROXY_SCRUB_KEY_FILE": "/x"})
    assert not (tmp_path / "scrub.key").exists()
