"""The demo's steps, each calling the same library functions a user would."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from hudproxy.demo.evals import eval_shop
from hudproxy.errors import ConfigError
from hudproxy.hub import load_module
from hudproxy.interaction.body import parse_json
from hudproxy.record.background import recording_proxy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.replay.server import create_replay_app
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_json
from hudproxy.serving import serve_in_thread


def record_shop(service: Any, client: Any, path: Path, console: Console) -> list[Any]:
    """Start the shop, run the scripted client through the recording proxy, stop the shop."""
    with serve_in_thread(service.create_app()) as upstream:
        console.print(f"1. example shop running at {upstream}")
        recorder = Recorder(path, RecordMode.ALL, target=upstream)
        with recording_proxy(recorder, upstream) as proxy_url:
            console.print(f"2. recording through hudproxy at {proxy_url} → {path}")
            steps = client.run_script(proxy_url)
    console.print(f"3. shop stopped; {len(steps)} requests recorded")
    return steps


def replay_shop(client: Any, path: Path, recorded: list[Any], console: Console) -> bool:
    """Replay the same script, compare every answer; then show, on purpose, what a request nobody recorded gets.
    The explanation comes before the miss, so its WARNING reads as the demo it is, not as a failure."""
    with serve_in_thread(create_replay_app(path)) as replay_url:
        console.print(f"4. replaying {path} at {replay_url} (no upstream running), the same script again:")
        replayed = client.run_script(replay_url)
        table, ok = comparison_table(recorded, replayed)
        console.print(table)
        verdict = "every replayed answer equals the recorded one" if ok else "some replayed answers differ"
        console.print(f"{'✓' if ok else '✗'} {verdict}")
        console.print(
            "5. a request nobody recorded, GET /orders/A99: the replay never guesses. It answers 501 and logs the "
            "nearest recordings and what differs (the WARNING below is this expected miss):"
        )
        unmatched = httpx.get(f"{replay_url}/orders/A99", trust_env=False)
    console.print(f"   the client gets {unmatched.status_code}:", unmatched.text, markup=False, highlight=False)
    return ok


def same_answer(live: Any, again: Any) -> str | None:
    """'✓', '✓ secrets scrubbed' (equal once the recorded body's secrets are scrubbed), or None."""
    if live.status != again.status:
        return None
    if live.body == again.body:
        return "✓"
    is_json, data = parse_json(live.body)
    if is_json and json.loads(again.body) == scrub_json(data, ScrubPolicy.default()):
        return "✓ secrets scrubbed"
    return None


def comparison_table(recorded: list[Any], replayed: list[Any]) -> tuple[Table, bool]:
    table = Table(title="recorded vs replayed", title_justify="left")
    for column in ("step", "request", "recorded", "replayed", "same answer"):
        table.add_column(column)
    all_same = len(recorded) == len(replayed)
    for live, again in zip(recorded, replayed, strict=False):
        verdict = same_answer(live, again)
        all_same &= verdict is not None
        request = f"{live.method} {live.path}"
        table.add_row(live.name, request, str(live.status), str(again.status), verdict or "✗ differs")
    return table, all_same


def next_steps(kept: Path | None) -> str:
    """What to run after the demo: the same loop on the user's own API."""
    inspect = f"  hudproxy inspect {kept}                          # what the demo recorded\n" if kept else ""
    return (
        "Next, the same loop on your API:\n"
        f"{inspect}"
        "  hudproxy record --target https://api.example.com --cassette cassettes/mine.yaml   # point your client at "
        "http://127.0.0.1:8080\n"
        "  hudproxy replay cassettes/mine.yaml                                             # the same URL, no API\n"
        "  hudproxy --help                                                                 # every command, examples"
    )


def refuse_to_overwrite(cassette: Path | None, force: bool) -> None:
    """The demo records a fresh cassette; a file already at --cassette (the bundled example, say) is replaced only
    with --force."""
    if cassette is not None and cassette.exists() and not force:
        raise ConfigError(
            f"{cassette} already exists and the demo records a fresh cassette: give a new path, "
            "or add --force to replace it."
        )


def run_demo(console: Console, cassette: Path | None = None, eval_runs: int = 200, force: bool = False) -> bool:
    """Record, replay, compare; then `eval_runs` isolated runs of two scenarios against the replay (0: none).
    The exit status is the comparison's: every replayed answer equal to the recorded one."""
    refuse_to_overwrite(cassette, force)
    service = load_module("shop", "service")
    client = load_module("shop", "client")
    with tempfile.TemporaryDirectory(prefix="hudproxy-demo-") as tmp:
        path = cassette or Path(tmp) / "shop.yaml"
        path.unlink(missing_ok=True)
        recorded = record_shop(service, client, path, console)
        ok = replay_shop(client, path, recorded, console)
        if eval_runs > 0:
            eval_shop(path, eval_runs, console)
    console.print(next_steps(cassette), markup=False, highlight=False)
    return ok
