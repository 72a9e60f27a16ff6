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
from hudproxy.cli.common import err_console
from hudproxy.cli.help import no_such_option_message
from hudproxy.cli.lazy import lazy_group
from hudproxy.errors import HudproxyError

HELP = """Record real HTTP and MCP traffic once, replay it as deterministic mocks.

\b
Example: hudproxy demo                                  (the whole loop on a bundled example shop)
Example: hudproxy record --target https://api.example.com --cassette cassettes/api.yaml
Example: hudproxy replay cassettes/api.yaml             (clients use http://127.0.0.1:8080)

Every command has --help with examples.
"""

# name -> (module, function). A command's module is imported only when the command runs (or `hudproxy --help` lists
# them all): the start of `hudproxy replay` or `hudproxy eval` does not pay for the other commands' imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "record": ("hudproxy.cli.record", "record"),
    "replay": ("hudproxy.cli.replay", "replay"),
    "inspect": ("hudproxy.cli.inspect", "inspect"),
    "demo": ("hudproxy.cli.demo", "demo"),
    "journal": ("hudproxy.cli.journal", "journal"),
    "ca": ("hudproxy.cli.ca", "ca"),
    "import": ("hudproxy.cli.transfer", "import_"),
    "serve": ("hudproxy.cli.serve", "serve"),
    "dev": ("hudproxy.cli.serve", "dev"),
    "export": ("hudproxy.cli.transfer", "export"),
    "eval": ("hudproxy.cli.eval", "eval_"),
    "build": ("hudproxy.cli.build", "build"),
    "report": ("hudproxy.cli.grade", "report"),
    "grade": ("hudproxy.cli.grade", "grade"),
    "verify": ("hudproxy.cli.verify", "verify_command"),
    "check": ("hudproxy.cli.verify", "check_command"),
    "ui": ("hudproxy.cli.ui", "ui"),
}

app = typer.Typer(
    name="hudproxy",
    cls=lazy_group(COMMANDS, pretty_exceptions_short=True, rich_markup_mode=None),
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},  # click's 80 otherwise, even on a wide terminal
)


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
        command = typer.main.get_command(app)
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
