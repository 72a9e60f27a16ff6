"""`hudproxy journal`: the calls a replay server captured, as a table or JSON; unmatched ones with their diagnosis."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from hudproxy.cli.common import console
from hudproxy.errors import ConfigError
from hudproxy.journal.query import Call, CallList, read_calls
from hudproxy.replay.server import DEFAULT_JOURNAL

Opt = typer.Option
COLUMNS = (("session", "left"), ("seq", "right"), ("time", "left"), ("method", "left"), ("path", "left"),
           ("status", "right"), ("result", "left"), ("interaction", "right"), ("ms", "right"))  # fmt: skip


def journal(
    db: Annotated[Path, Opt(help="Journal written by `hudproxy replay`")] = DEFAULT_JOURNAL,
    session: Annotated[str | None, Opt(help="Only this session's calls")] = None,
    unmatched: Annotated[bool, Opt("--unmatched", help="Only unmatched calls, each with its diagnosis")] = False,
    as_json: Annotated[bool, Opt("--json", help="Machine-readable output")] = False,
) -> None:
    """Show the calls a replay server answered: who asked what, what they got, and what matched.

    Example: hudproxy journal --session alice --unmatched
    """
    if not db.exists():
        raise ConfigError(f"{db}: no journal there; `hudproxy replay` writes one (default {DEFAULT_JOURNAL}).")
    calls = read_calls(db, session=session, unmatched=True if unmatched else None)
    if as_json:
        console.print_json(json.dumps([dataclasses.asdict(c) for c in calls]))
        return
    console.print(_table(db, calls, with_diagnosis=unmatched))


def _table(db: Path, calls: CallList, with_diagnosis: bool) -> Table:
    table = Table(title=f"{db} — {len(calls)} calls", title_justify="left")
    for name, justify in COLUMNS:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for call in calls:
        table.add_row(*map(Text, _cells(call)))
        if with_diagnosis:
            table.add_row(*([Text("")] * 4), Text("\n".join(_diagnosis_lines(call)), style="dim"))
    return table


def _cells(call: Call) -> list[str]:
    target = call.path + (f"?{call.query}" if call.query else "")
    clock = dt.datetime.fromisoformat(call.time).strftime("%H:%M:%S.%f")[:-3]
    interaction = "" if call.interaction is None else str(call.interaction)
    result = "matched" if call.matched else "unmatched"
    return [call.session, str(call.seq), clock, call.method, target, str(call.status), result, interaction,
            f"{call.duration_ms:.1f}"]  # fmt: skip


def _diagnosis_lines(call: Call) -> list[str]:
    """The journal's stored diagnosis in the words the replay log uses: nearest recordings, what differs."""
    if not call.diagnosis:
        return ["the cassette has no interactions to compare with"]
    lines = []
    for rank, near in enumerate(call.diagnosis, 1):
        lines.append(f"#{rank} nearest: interaction {near['interaction']}: {near['request']}")
        differences = near["differences"] or ["(same key; all its answers were used)"]
        lines.extend(f"    differs: {d}" for d in differences)
    return lines
