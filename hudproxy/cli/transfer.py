"""`hudproxy import` and `hudproxy export`: other tools' traffic files to cassettes and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cassette.files import save_cassette
from hudproxy.cli.common import console, scrub_policy
from hudproxy.errors import CassetteError
from hudproxy.interchange import export_cassette, import_file

Opt = typer.Option


def import_(
    format: Annotated[str, typer.Argument(metavar="FORMAT", help="har | mitm | vcr")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The HAR, mitmproxy flow file or vcrpy cassette")],
    output: Annotated[Path, Opt("--output", "-o", help="Cassette to write (.yaml, or .json)")],
    keep_secrets: Annotated[bool, Opt(help="Store secrets as they are (scrubbing is on by default)")] = False,
    scrub_header: Annotated[list[str] | None, Opt(help="Extra header names to scrub")] = None,
    scrub_query: Annotated[list[str] | None, Opt(help="Extra query parameters to scrub")] = None,
    scrub_json_field: Annotated[list[str] | None, Opt(help="Extra JSON body fields to scrub")] = None,
) -> None:
    """Turn FILE (a HAR from a browser, a `mitmdump -w` flow file, a vcrpy cassette) into a hudproxy cassette,
    secrets scrubbed as when recording.

    \b
    Example: hudproxy import har session.har -o cassettes/session.yaml
    """
    scrub = scrub_policy(keep_secrets, scrub_header, scrub_query, scrub_json_field)
    cassette = import_file(format, file, scrub)
    try:
        save_cassette(cassette, output)
    except OSError as exc:
        raise CassetteError(f"{output}: cannot write: {exc.strerror or exc}.") from None
    scrubbed = "secrets kept" if keep_secrets else "secrets scrubbed"
    console.print(f"imported {len(cassette)} interactions from {file} ({format}, {scrubbed}) → {output}")


def export(
    format: Annotated[str, typer.Argument(metavar="FORMAT", help="har")],
    cassette: Annotated[Path, typer.Argument(metavar="CASSETTE", help="Cassette file (.yaml or .json)")],
    output: Annotated[Path, Opt("--output", "-o", help="File to write, e.g. out.har")],
) -> None:
    """Write CASSETTE in another tool's format: HAR 1.2 opens in browsers' DevTools and HAR viewers.

    \b
    Example: hudproxy export har cassettes/shop.yaml -o shop.har
    """
    count = export_cassette(format, cassette, output)
    console.print(f"exported {count} interactions from {cassette} ({format}) → {output}")
