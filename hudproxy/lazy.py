"""Lazy public names (PEP 562): a package lists where each name lives and imports it on first use.

So `import hudproxy` (the CLI, the pytest plugin, a healthcheck) does not pay for FastAPI, the MCP SDK or the
Docker SDK until a name that needs them is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `where` maps each public name to its module (absolute, or
    relative to the package); the value is cached in `namespace` (the package's globals) once imported."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = module if module.startswith("hudproxy") else f"{package}.{module}"
        value = getattr(import_module(target), name)
        namespace[name] = value
        return value

    return __getattr__
