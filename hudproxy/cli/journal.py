"""`hudproxy journal`: the calls a replay server (or a recording) captured, as a table or JSON; unmatched ones with
their diagnosis; a call another one caused (a recorded tool call's HTTP) shows its parent as `← #seq`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from hudproxy.cli.common import console
from hudproxy.errors import ConfigError
from hudproxy.journal.query import Call, CallList, read_calls, sessions_in
from hudproxy.mcp.why import mcp_difference, recorded_call, split_path
from hudproxy.record.recorder import RECORDING_SESSION
from hudproxy.replay.server import DEFAULT_JOURNAL, JOURNAL_ENV

Opt = typer.Option
COLUMNS: dict[str, JustifyMethod] = {
    "session": "left", "seq": "right", "parent": "left", "time": "left", "method": "left", "path": "left",
    "status": "right", "result": "left", "interaction": "right", "ms": "right",
}  # fmt: skip
ONLY_IF_USED = {"parent"}  # shown when some call has one (a recording's HTTP linked to the MCP call that sent it)
SAME_FOR_UNMATCHED = {"result", "interaction"}  # with --unmatched these say nothing: the room goes to the diagnosis
WIDE = "path"  # the one column that folds (and holds the diagnosis); the others keep their values on one line
WIDE_MIN = 24  # the path column never gets less (40 with diagnoses): on a narrow terminal others give way first
DROP_FIRST = ("interaction", "time", "ms", "parent")  # what a narrow terminal hides, in this order


def journal(
    db: Annotated[
        Path,
        Opt(
            "--journal",
            "--db",
            help="Journal written by `hudproxy replay` or `hudproxy record` (--db: the same)",
            envvar=JOURNAL_ENV,
        ),
    ] = DEFAULT_JOURNAL,
    session: Annotated[str | None, Opt(help="Only this session's calls")] = None,
    unmatched: Annotated[
        bool, Opt("--unmatched", help="Only the misses (no recording, no --generalise model answered), with diagnoses")
    ] = False,
    as_json: Annotated[bool, Opt("--json", help="Machine-readable output")] = False,
) -> None:
    """Show the calls a replay server answered (or a recording forwarded): who asked what, what they got, what
    matched (`synth <rule>`: the --generalise model answered), and which MCP tool call caused an HTTP request
    (parent, `← #seq`).

    \b
    Example: hudproxy journal                                  (every session, the oldest first)
    Example: hudproxy journal --session alice --unmatched      (what alice asked that nothing matched, and why)
    Example: hudproxy journal --session recording --json
    Example: hudproxy journal --journal runs/journal.db        (--db is the same option)
    """
    if not db.exists():
        raise ConfigError(f"{db}: no journal there; `hudproxy replay` writes one (default {DEFAULT_JOURNAL}).")
    calls = oldest_session_first(read_calls(db, session=session, unmatched=True if unmatched else None))
    if as_json:
        console.print_json(json.dumps([{**dataclasses.asdict(c), "answered_by": c.answered_by} for c in calls]))
        return
    if not calls and session is not None:
        known = [s["session"] for s in sessions_in(db)]
        listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") if known else "none"
        console.print(f"{db}: no calls for session {session!r}; sessions in this journal: {listed}")
        return
    console.print(_table(db, calls, with_diagnosis=unmatched, width=console.width))


def oldest_session_first(calls: CallList) -> CallList:
    """Sessions in the order they began (their first call), each in seq order: the journal reads as what
    happened, not as an alphabetical list of session names."""
    began: dict[str, str] = {}
    for call in calls:
        began[call.session] = min(began.get(call.session, call.time), call.time)
    return CallList(sorted(calls, key=lambda call: (began[call.session], call.session)))


def result_of(call: Call) -> str:
    """What happened to the call, in the words of whoever answered it: a replay `matched` a recording or not; a
    recording (session `recording`) `recorded` what it forwarded upstream, and `replayed` what its mode answered
    from the cassette (journaled with no duration, as nothing was forwarded); under `--generalise` the resource
    model's answers are `synth <rule>`, and the calls a fault rule fired on `fault <rule>`."""
    if call.fault is not None:
        return f"fault {call.fault}"
    if call.synthesized:
        return f"synth {call.rule}"
    if not call.matched:
        return "unmatched"
    if call.session != RECORDING_SESSION:
        return "matched"
    return "replayed" if call.duration_ms == 0 and call.kind == "http" else "recorded"


def _table(db: Path, calls: CallList, with_diagnosis: bool, width: int) -> Table:
    used = {"parent"} if any(call.parent is not None for call in calls) else set()
    names = [
        name
        for name in COLUMNS
        if not (with_diagnosis and name in SAME_FOR_UNMATCHED) and (name not in ONLY_IF_USED or name in used)
    ]
    rows = [_cells(call) for call in calls]
    hidden = _fit(names, rows, width, WIDE_MIN + 16 if with_diagnosis else WIDE_MIN)
    names = [name for name in names if name not in hidden]
    caption = f"(hidden to fit {width} columns: {', '.join(hidden)}; widen the terminal or use --json)"
    table = Table(
        title=f"{db} — {len(calls)} calls", title_justify="left", box=box.SIMPLE_HEAD, expand=True,
        caption=caption if hidden else None, caption_justify="left",
    )  # fmt: skip
    for name in names:
        wide = name == WIDE
        table.add_column(
            name, justify=COLUMNS[name], no_wrap=not wide, overflow="fold", min_width=20 if wide else None,
            ratio=1 if wide else None,
        )  # fmt: skip
    for call, cells in zip(calls, rows, strict=True):
        table.add_row(*(Text(cells[name]) for name in names))
        if with_diagnosis:
            lines = Text("\n".join(_diagnosis_lines(call)), style="dim")
            table.add_row(*(lines if name == WIDE else Text("") for name in names))
    return table


def _fit(names: list[str], rows: list[dict[str, str]], width: int, wide_min: int) -> list[str]:
    """The columns to hide, in DROP_FIRST order, until the others fit on one line beside a readable path."""

    def need(name: str) -> int:
        return max([len(name), *(len(row[name]) for row in rows)]) + 2  # + the cell's padding

    shown = [name for name in names if name != WIDE]
    hidden: list[str] = []
    for name in DROP_FIRST:
        if sum(map(need, shown)) + wide_min + 2 <= width:
            break
        if name in shown:
            shown.remove(name)
            hidden.append(name)
    return hidden


def _cells(call: Call) -> dict[str, str]:
    return {
        "session": call.session,
        "seq": str(call.seq),
        "parent": "" if call.parent is None else f"← #{call.parent}",
        "time": dt.datetime.fromisoformat(call.time).strftime("%H:%M:%S.%f")[:-3],
        "method": call.method,
        "path": call.path + (f"?{call.query}" if call.query else ""),
        "status": str(call.status),
        "result": result_of(call),
        "interaction": "" if call.interaction is None else str(call.interaction),
        "ms": f"{call.duration_ms:.1f}",
    }


def _diagnosis_lines(call: Call) -> list[str]:
    """The journal's stored diagnosis in the words the replay log uses: nearest recordings, what differs; for an
    MCP call in the agent's words (the tool, the recorded calls, the arguments that differ)."""
    mcp = call.kind == "mcp"
    if not call.diagnosis:
        return ["the cassette has no interactions to compare with"]
    lines = []
    if mcp:
        lines.append(f"asked: {_mcp_asked(call)}")
    method = split_path(call.path)[0]
    for rank, near in enumerate(call.diagnosis, 1):
        request = recorded_call(near["request"]) if mcp else near["request"]
        lines.append(f"#{rank} nearest: interaction {near['interaction']}: {request}")
        differences = [mcp_difference(d, method) if mcp else d for d in near["differences"]]
        lines.extend(f"    differs: {d}" for d in differences or ["(same key; all its answers were used)"])
    return lines


def _mcp_asked(call: Call) -> str:
    method, name = split_path(call.path)
    arguments = call.request_body if call.request_body not in (None, "{}") else ""
    return " ".join(part for part in (method, name or "", arguments or "") if part)
