"""`hudproxy inspect`: a cassette as a table, one interaction in full, or why a request does not match."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.cli.common import console, split_csv
from hudproxy.errors import ConfigError
from hudproxy.inspection import InteractionFilter, detail, explain_request, load_why_request, summarize
from hudproxy.inspection.why import WhyResult
from hudproxy.matching.outcome import diagnosis_data
from hudproxy.mcp.exchange import SCHEME
from hudproxy.mcp.summary import mcp_summary
from hudproxy.mcp.why import mcp_diagnosis_data, mcp_diagnosis_lines
from hudproxy.replay.unmatched import diagnosis

Opt = typer.Option
NO_MATCH = 1  # `--why`'s exit code when nothing recorded matches (2 stays for bad input)


def inspect(
    cassette: Annotated[Path, typer.Argument(help="Cassette file (.yaml or .json)")],
    show: Annotated[int | None, Opt(help="Show interaction N in full (headers, pretty body)")] = None,
    filter: Annotated[list[str] | None, Opt(help="KEY=VALUE with KEY method|path|status|host; globs")] = None,
    why: Annotated[
        Path | None, Opt(help="REQUEST.json (HTTP request or MCP call): would it match? If not, what differs")
    ] = None,
    model: Annotated[
        bool, Opt("--model", help="The resource model learned from the recording: its rules, evidence and gaps")
    ] = False,
    openapi: Annotated[
        Path | None, Opt(help="--model/--why: an OpenAPI document: its paths, ids and schemas override inference")
    ] = None,
    as_json: Annotated[bool, Opt("--json", help="Machine-readable output")] = False,
) -> None:
    """Show what a cassette holds.

    \b
    Example: hudproxy inspect cassettes/shop.yaml --filter method=PATCH
    Example: hudproxy inspect cassettes/shop.yaml --show 3
    Example: hudproxy inspect cassettes/shop.yaml --why request.json
    Example: hudproxy inspect cassettes/tools.yaml --why call.json
             (call.json: {"tool": "charge_card", "arguments": {...}})

    --why exits 0 when the request matches an interaction and 1 when it does not (for scripts).
    """
    loaded = load_cassette(cassette)
    document = _openapi(openapi, model or why is not None)
    if model:
        _print_model(loaded, cassette, as_json, document)
        return
    if why is not None:
        result = explain_request(loaded, load_why_request(why, loaded))
        if result.request.scheme == SCHEME:
            _print_mcp_why(result, loaded, as_json)
        else:
            _print_why(result, as_json, loaded, document)
        if result.matched is None:
            raise typer.Exit(NO_MATCH)  # a script asks "would it match?" with the exit code alone
        return
    if show is not None:
        if not 0 <= show < len(loaded.interactions):
            raise ConfigError(f"--show {show}: {cassette} has interactions 0 to {len(loaded.interactions) - 1}.")
        _print_detail(detail(loaded.interactions[show]), as_json)
        return
    chosen = InteractionFilter.parse(split_csv(filter))
    rows = [summarize(i) for i in loaded.interactions if chosen.accepts(i)]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    _print_table(cassette, rows, len(loaded.interactions))


def _openapi(path: Path | None, used: bool) -> dict[str, Any] | None:
    if path is None:
        return None
    if not used:
        raise ConfigError(f"--openapi {path}: it shapes the resource model; give --model or --why too.")
    from hudproxy.resources.documents import load_openapi

    return load_openapi(path)


def _print_model(loaded: Cassette, cassette: Path, as_json: bool, document: dict[str, Any] | None = None) -> None:
    from hudproxy.resources.learn import learn_model
    from hudproxy.resources.render import model_lines

    learned = learn_model(loaded, document)
    if as_json:
        console.print_json(json.dumps(learned.to_dict(), default=str))
        return
    console.print("\n".join(model_lines(learned, str(cassette))), markup=False, highlight=False, soft_wrap=True)


def _print_table(cassette: Path, rows: list[dict[str, Any]], total: int) -> None:
    hosts = {row["host"] for row in rows}
    table = Table(title=f"{cassette} — {len(rows)} of {total} interactions", title_justify="left")
    for name, justify in (("#", "right"), ("method", "left"), ("url", "left"), ("status", "right"),
                          ("size", "right"), ("ms", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        url = row["url"] if len(hosts) > 1 else row["target"]
        ms = "" if row["duration_ms"] is None else f"{row['duration_ms']:.1f}"
        size = f"{row['size']:,}" + (" (stream)" if row["streamed"] else "")
        table.add_row(str(row["index"]), row["method"], url, str(row["status"]), size, ms)
    console.print(table)


def _print_detail(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(data))
        return
    req, resp = data["request"], data["response"]
    console.rule(f"interaction {data['index']}")
    console.print(f"{req['method']} {req['url']}", markup=False, highlight=False)
    for name, value in req["headers"]:
        console.print(f"  {name}: {value}", markup=False, highlight=False)
    if req["body"]:
        console.print(req["body"], markup=False)
    console.rule("response")
    console.print(f"{resp['status']} {resp['reason']}", markup=False, highlight=False)
    for name, value in resp["headers"]:
        console.print(f"  {name}: {value}", markup=False, highlight=False)
    if resp["chunks"]:
        console.print(f"  (streamed in {resp['chunks']} chunks)", markup=False)
    console.print(resp["body"], markup=False)


def _print_why(result: WhyResult, as_json: bool, loaded: Cassette, document: dict[str, Any] | None = None) -> None:
    from hudproxy.resources.why import model_verdict, verdict_line

    verdict = None if result.matched is not None else model_verdict(loaded, result.request, document)
    if as_json:
        payload = {
            "request": result.request.describe(),
            "matched": None if result.matched is None else result.matched.index,
            "nearest": diagnosis_data(result.near),
            "generalise": verdict,
        }
        console.print_json(json.dumps(payload))
        return
    if result.matched is not None:
        console.print(
            f"matches interaction {result.matched.index}: {result.matched.request.describe()} "
            f"→ {result.matched.response.status}",
            markup=False,
        )
        return
    console.print(diagnosis(result.request, result.near), markup=False, highlight=False)
    if verdict is not None:
        console.print(verdict_line(verdict), markup=False, highlight=False, soft_wrap=True)


def _print_mcp_why(result: WhyResult, cassette: Cassette, as_json: bool) -> None:
    """An MCP call: the tool, the nearest recorded calls of it and the arguments that differ."""
    if as_json:
        payload = mcp_diagnosis_data(result.request, [] if result.matched else result.near)
        payload["matched"] = None if result.matched is None else result.matched.index
        console.print_json(json.dumps(payload))
        return
    if result.matched is not None:
        recorded = mcp_summary(result.matched)["target"]
        console.print(f"matches interaction {result.matched.index}: {recorded}", markup=False, highlight=False)
        return
    lines = mcp_diagnosis_lines(result.request, result.near, cassette.interactions)
    console.print("\n".join(lines), markup=False, highlight=False)
