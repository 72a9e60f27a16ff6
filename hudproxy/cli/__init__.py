"""The `hudproxy` command: a thin layer over the library. Every command parses options and calls one function.

Errors never show a traceback: a HudproxyError or a usage mistake is one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click; its exceptions are not click's
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions

from hudproxy import __version__
from hudproxy.cli import build as build_cli
from hudproxy.cli import ca, demo, inspect, journal, record, replay, serve, transfer, ui
from hudproxy.cli import eval as eval_cli
from hudproxy.cli import grade as grade_cli
from hudproxy.cli import verify as verify_cli
from hudproxy.cli.common import err_console
from hudproxy.cli.help import no_such_option_message, polish
from hudproxy.errors import HudproxyError

HELP = """Record real HTTP and MCP traffic once, replay it as deterministic mocks.

\b
Example: hudproxy demo                                  (the whole loop on a bundled example shop)
Example: hudproxy record --target https://api.example.com --cassette cassettes/api.yaml
Example: hudproxy replay cassettes/api.yaml             (clients use http://127.0.0.1:8080)

Every command has --help with examples.
"""

app = typer.Typer(
    name="hudproxy",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},  # click's 80 otherwise, even on a wide terminal
)
app.command("record")(record.record)
app.command("replay")(replay.replay)
app.command("inspect")(inspect.inspect)
app.command("demo")(demo.demo)
app.command("journal")(journal.journal)
app.command("ca")(ca.ca)
app.command("import")(transfer.import_)
app.command("serve")(serve.serve)
app.command("dev")(serve.dev)
app.command("export")(transfer.export)
app.command("eval")(eval_cli.eval_)
app.command("build")(build_cli.build)
app.command("report")(grade_cli.report)
app.command("grade")(grade_cli.grade)
app.command("verify")(verify_cli.verify_command)
app.command("check")(verify_cli.check_command)
app.command("ui")(ui.ui)


def _show_version(asked: bool) -> None:
    if asked:
        print(f"hudproxy {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", help="Show hudproxy's version and exit", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    """Options before the command (`hudproxy --version`)."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the Typer app, turning every expected failure into one clear line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        command = polish(typer.main.get_command(app))
        result = command.main(args=args, prog_name="hudproxy", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(0)
    except click_exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "hudproxy"
        said = no_such_option_message(exc) if isinstance(exc, click_exceptions.NoSuchOption) else exc.format_message()
        message = f"{where}: {said} (see `{where} --help`)"
        err_console.print(message, markup=False, soft_wrap=True)
        sys.exit(2)
    except typer.Abort:
        err_console.print("hudproxy: aborted", markup=False)
        sys.exit(130)
    except HudproxyError as exc:
        err_console.print(f"hudproxy: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except click_exceptions.ClickException as exc:
        err_console.print(f"hudproxy: {exc.format_message()}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    sys.exit(result if isinstance(result, int) else 0)
