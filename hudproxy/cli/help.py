"""The finishing touches every command gets in one place, so no command has to spell them out: metavars that say
whether an option repeats or takes commas, and "did you mean" suggestions that are close matches only."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

try:  # typer >= 0.20 vendors click; its classes are not click's
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions

# Repeatable options whose values may hold a comma themselves, so they are never split: one value per flag.
ONE_VALUE_PER_FLAG = frozenset({"--mcp-header", "--header", "--arg", "--watch"})
CLOSE_ENOUGH = 0.75  # difflib ratio (names without the dashes): `prot`→`port` 0.75, `hots`→`port` 0.5
TIE = 0.05  # suggest the runners-up only when they are about as close as the best


def polish(command: Any) -> Any:
    """Name the values of every repeatable option of a (click) `command` and its subcommands, in place."""
    for param in command.params:
        if param.param_type_name == "option" and param.multiple and not param.is_flag:
            _name_repeatable(param)
        elif param.param_type_name == "argument" and param.nargs == -1:
            param.display_type = _one_of_many(param.display_type)
    for sub in getattr(command, "commands", {}).values():
        polish(sub)
    return command


def _name_repeatable(option: Any) -> None:
    """`--match-on <str>,...  (repeatable; commas too)` or `--mcp-header <str>  (repeatable)` instead of
    `<list[str]>`, which says neither."""
    longest = max(option.opts, key=len)
    single = longest in ONE_VALUE_PER_FLAG
    if option.metavar is None:
        option.metavar = "<str>" if single else "<str>,..."
    help_text = (option.help or "").replace(" (repeatable)", "").replace(", repeatable", "")
    option.help = f"{help_text} ({'repeatable' if single else 'repeatable, or comma-separated'})".strip()


def _one_of_many(display_type: Any) -> Any:
    """`FILE... <path>` for an argument taking several values, not `<list[Path]>`."""
    return lambda ctx: display_type(ctx).replace("<list[", "<").replace("]>", ">").lower()


def close_options(typed: str, options: Iterable[str]) -> list[str]:
    """The long options a typo most likely meant: those `typed` begins (`--mcp` → every `--mcp-*`), else the
    closest by spelling, and only if close (`--prot` → `--port`, never `--host` beside it)."""
    word = typed.lstrip("-").partition("=")[0].replace("_", "-").lower()
    names = {option.lstrip("-"): option for option in options if option.startswith("--")}
    if len(word) >= 3:
        started = sorted(option for name, option in names.items() if name.startswith(word))
        if started:
            return started[:6]
    scored = sorted(((difflib.SequenceMatcher(None, word, name).ratio(), option) for name, option in names.items()),
                    reverse=True)  # fmt: skip
    if not scored or scored[0][0] < CLOSE_ENOUGH:
        return []
    best = scored[0][0]
    return sorted(option for ratio, option in scored[:3] if ratio >= best - TIE)


def no_such_option_message(exc: click_exceptions.NoSuchOption) -> str:
    """`no such option --tagret; did you mean --target?` with suggestions from `close_options`."""
    command = exc.ctx.command if exc.ctx else None
    known = [opt for param in (command.params if command else []) for opt in param.opts + param.secondary_opts]
    nearest = close_options(exc.option_name, known)
    message = f"no such option {exc.option_name}"
    if nearest:
        message += f"; did you mean {' or '.join(nearest) if len(nearest) < 3 else ', '.join(nearest)}?"
    return message
