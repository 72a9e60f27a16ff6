"""A command group that imports a command's module only when that command is used.

Why: importing every command module at start costs ~0.4 s (each pulls its part of the library: the journal's SQLite
helpers, the cassette schema, MCP, FastAPI), paid by every `hudproxy replay` and `hudproxy eval` before its first
useful line. The group knows its commands by name from a table; `hudproxy --help` imports them all to list them,
`hudproxy <cmd>` imports only `<cmd>`'s module. A command's click form is built by Typer from its function exactly
as `app.command(name)(function)` would, so its help, options and errors are unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup
from typer.models import CommandInfo

from hudproxy.cli.help import polish

# command name -> (module, function): what `hudproxy <name>` runs.
CommandTable = Mapping[str, tuple[str, str]]


class LazyCommands(MutableMapping[str, Any]):
    """The group's commands by name; a command is built (its module imported) on first lookup, then kept."""

    def __init__(self, table: CommandTable, build: Callable[[str, Callable[..., Any]], Any]) -> None:
        self._table = table
        self._build = build
        self._built: dict[str, Any] = {}
        self._extra: list[str] = []  # commands added by `add_command`, after the table's

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._table:
                raise KeyError(name)
            module, attribute = self._table[name]
            self._built[name] = self._build(name, getattr(importlib.import_module(module), attribute))
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._table and name not in self._extra:
            self._extra.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"hudproxy's commands are fixed; cannot remove {name!r}")

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from self._extra

    def __len__(self) -> int:
        return len(self._table) + len(self._extra)

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._extra


def lazy_group(table: CommandTable, *, pretty_exceptions_short: bool = True, rich_markup_mode: Any = None) -> type:
    """A TyperGroup class (for `typer.Typer(cls=...)`) whose commands come from `table`, built on first use."""

    def build(name: str, function: Callable[..., Any]) -> Any:
        info = CommandInfo(name=name, callback=function)
        command = typer.main.get_command_from_info(
            info, pretty_exceptions_short=pretty_exceptions_short, rich_markup_mode=rich_markup_mode
        )
        return polish(command)

    class LazyGroup(TyperGroup):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            polish(self)  # the group's own options (and any eager command); the table's are polished as built
            commands = LazyCommands(table, build)
            for name, command in self.commands.items():  # any registered the eager way
                commands[name] = command
            self.commands = commands

    return LazyGroup
