"""`hudproxy verify` (does the live system still answer what the cassette recorded?) and `hudproxy check`
(is any cassette older than CI allows?). Both exit 1 when they find a problem and 2 on bad input."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hudproxy.cli.common import console, split_csv
from hudproxy.drift.age import age_of, describe_age, parse_duration
from hudproxy.drift.options import VerifyOptions
from hudproxy.drift.report import Verdict, VerifyReport
from hudproxy.drift.verify import verify
from hudproxy.drift.volatile import Volatile, load_volatile
from hudproxy.errors import ConfigError

Opt = typer.Option
FOUND = 1  # breaking drift, or a cassette too old (2 stays for bad input)
STYLE = {
    Verdict.SAME: "green",
    Verdict.DRIFTED: "yellow",
    Verdict.BREAKING: "bold red",
    Verdict.SKIPPED: "dim",
    Verdict.FAILED: "bold red",
}
MAX_LINES = 6  # changes shown per interaction in the table (--json has them all)


def verify_command(
    cassette: Annotated[Path, typer.Argument(help="Cassette file (.yaml or .json)")],
    against: Annotated[
        str | None, Opt(help="Base URL of the live system (default: the target the cassette was recorded from)")
    ] = None,
    include_writes: Annotated[
        bool, Opt(help="Also send writes (POST, PATCH, ...) and re-run MCP tools not marked readOnlyHint: staging!")
    ] = False,
    header: Annotated[
        list[str] | None, Opt(help="'Name: value' sent with every request, e.g. the real token for a scrubbed one")
    ] = None,
    ignore: Annotated[
        list[str] | None, Opt(help="Volatile: a JSON pointer (/items/*/updated_at) or a header name (repeatable)")
    ] = None,
    volatile_file: Annotated[
        Path | None,
        Opt(help="Volatile fields file, read and written by --learn-volatile (default: CASSETTE.volatile.yaml)"),
    ] = None,
    learn_volatile: Annotated[
        bool, Opt(help="Send each read twice, mark what differs between the two answers as volatile, save it")
    ] = False,
    update: Annotated[
        bool, Opt(help="Rewrite the drifted interactions in the cassette with the live answers (scrubbed)")
    ] = False,
    mcp_command: Annotated[
        str | None, Opt(help="MCP: verify against this stdio MCP server, e.g. 'python server.py'")
    ] = None,
    mcp_url: Annotated[str | None, Opt(help="MCP: verify against this streamable-HTTP MCP server URL")] = None,
    mcp_header: Annotated[list[str] | None, Opt(help="MCP: header for --mcp-url, 'Name: value'")] = None,
    mcp_name: Annotated[str | None, Opt(help="MCP: which recorded server, when the cassette holds several")] = None,
    timeout: Annotated[float, Opt(help="Seconds to wait for each live answer")] = 30.0,
    concurrency: Annotated[
        int, Opt(help="Reads in flight at once (with --include-writes everything is sent one by one, in order)")
    ] = 8,
    insecure: Annotated[bool, Opt(help="Do not verify the live system's TLS certificate")] = False,
    as_json: Annotated[bool, Opt("--json", help="Machine-readable report on stdout")] = False,
) -> None:
    """Send CASSETTE's recorded requests to the live system again and report what changed: status, the headers
    a client acts on, and the body field by field (JSON pointers). Reads only, unless --include-writes.

    \b
    Example: hudproxy verify cassettes/shop.yaml --against https://staging.example.com
    Example: hudproxy verify cassettes/shop.yaml --learn-volatile      (ids and timestamps that change each call)
    Example: hudproxy verify cassettes/shop.yaml --ignore /generated_at --ignore X-Request-Id --json
    Example: hudproxy verify cassettes/shop.yaml --header 'Authorization: Bearer $TOKEN' --update
    Example: hudproxy verify cassettes/tools.yaml --mcp-command 'python tools_server.py'

    Exit 1 when anything breaks a client (a field removed, a type changed, a status of another class, a tool
    removed or its schema narrowed, no answer); 0 otherwise, and after --update has rewritten the drift.
    """
    from hudproxy.cli.mcp import upstream_from_options

    if timeout <= 0:
        raise ConfigError(f"--timeout {timeout:g}: give seconds greater than 0.")
    if concurrency < 1:
        raise ConfigError(f"--concurrency {concurrency}: give 1 or more.")
    options = VerifyOptions(
        against=against,
        include_writes=include_writes,
        headers=parse_header_options(header),
        volatile=Volatile.from_options(split_csv(ignore)),
        volatile_file=volatile_file,
        learn=learn_volatile,
        update=update,
        timeout=timeout,
        concurrency=concurrency,
        insecure=insecure,
        mcp=upstream_from_options(mcp_command, mcp_url, mcp_header),
        mcp_name=mcp_name,
    )
    if volatile_file is not None and not learn_volatile:
        load_volatile(volatile_file)  # a file named on purpose must exist and parse, before anything is sent
    report = verify(cassette, options)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        print_report(report)
    if report.breaking and not report.updated:
        raise typer.Exit(FOUND)


def parse_header_options(values: list[str] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values or []:
        name, colon, rest = value.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            raise ConfigError(f"--header {value!r} is not 'Name: value', e.g. --header 'Authorization: Bearer T'.")
        headers[name.strip()] = rest.strip()
    return headers


def print_report(report: VerifyReport) -> None:
    against = [f"HTTP against {report.against or 'the recorded hosts'}"] if report.http else []
    against += [f"MCP {report.mcp}"] if report.mcp else []
    console.print(f"verify {report.cassette}: {'; '.join(against) or 'nothing to send'}", markup=False, highlight=False)
    if report.results:
        table = Table("#", "request", "status", "verdict", "changes", show_lines=False)
        for result in report.results:
            status = ""
            if result.drift is not None:
                before, after = result.drift.status_before, result.drift.status_after
                status = str(before) if before == after else f"{before} -> {after}"
            lines = result.lines()
            shown = lines[:MAX_LINES] + (
                [f"... {len(lines) - MAX_LINES} more (--json)"] if len(lines) > MAX_LINES else []
            )
            verdict = result.verdict.value + (" (updated)" if result.updated else "")
            ignored = result.drift.ignored if result.drift is not None else 0
            if ignored:
                shown.append(f"({ignored} volatile differences ignored)")
            style = STYLE[result.verdict]
            table.add_row(str(result.index), escape(result.request), status, f"[{style}]{verdict}[/]",
                          escape("\n".join(shown)))  # fmt: skip
        console.print(table)
    if report.tools:
        tools = Table("server", "tool", "change", "details")
        for change in report.tools:
            label = " (breaking)" if change.breaking else " (description flagged)" if change.flagged else ""
            style = "bold red" if change.breaking else "yellow"
            tools.add_row(escape(change.server), escape(change.tool), f"[{style}]{change.kind}{label}[/]",
                          escape("\n".join(change.lines())))  # fmt: skip
        console.print(tools)
    if report.learned is not None:
        learned = report.learned.to_dict()
        console.print(f"learned volatile: pointers {learned['pointers'] or '-'}, headers {learned['headers'] or '-'}",
                      markup=False, highlight=False)  # fmt: skip
    for note in report.notes:
        console.print(note, markup=False, highlight=False)
    verdict = "BREAKING" if report.breaking else "ok"
    console.print(f"{verdict}: {report.summary()}", markup=False, highlight=False)


def check_command(
    cassettes: Annotated[list[Path], typer.Argument(help="Cassette files (.yaml or .json)", metavar="CASSETTE")],
    max_age: Annotated[str, Opt(help="Oldest recording allowed, e.g. 30d, 12h, 2w")],
    as_json: Annotated[bool, Opt("--json", help="Machine-readable report on stdout")] = False,
) -> None:
    """Exit 1 when a cassette holds an interaction recorded longer ago than --max-age (its `recorded_at`), so CI
    says when recordings are due to be refreshed (`hudproxy verify`, or record again).

    \b
    Example: hudproxy check cassettes/*.yaml --max-age 30d
    """
    from hudproxy.cassette.files import load_cassette

    limit = parse_duration(max_age)
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    for path in cassettes:
        age = age_of(load_cassette(path).interactions)
        too_old = age.older_than(limit, now)
        rows.append({
            "cassette": str(path),
            "oldest": age.oldest.isoformat() if age.oldest else None,
            "age_days": round((now - age.oldest).total_seconds() / 86_400, 2) if age.oldest else None,
            "interactions": age.total,
            "undated": age.undated,
            "too_old": too_old,
        })  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps({"max_age": max_age, "cassettes": rows}, indent=2) + "\n")
    else:
        table = Table("cassette", "oldest recording", "age", "verdict")
        for row, path in zip(rows, cassettes, strict=True):
            oldest = row["oldest"]
            age_text = describe_age(now - dt.datetime.fromisoformat(oldest)) if oldest else "unknown"
            verdict = "[bold red]too old[/]" if row["too_old"] else "[green]ok[/]"
            if row["undated"]:
                verdict += f" ({row['undated']} of {row['interactions']} without recorded_at)"
            table.add_row(escape(str(path)), oldest or "-", age_text, verdict)
        console.print(table)
    old = [row["cassette"] for row in rows if row["too_old"]]
    if old:
        if not as_json:
            console.print(f"{len(old)} cassettes recorded more than {max_age} ago: {', '.join(old)}", markup=False)
        raise typer.Exit(FOUND)
