"""Loading an environment from files: `envs/shop`, `envs/shop/env.py`, or a hub name.

The folder is imported as a package of its own (a private name derived from its path), so `env.py` may use
relative imports (`from .scenarios import orders`) and two environments with a `scenarios/` folder each never
collide. Loading again first drops that package's modules, which is how `hudproxy dev` picks up edits.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING

from hudproxy.errors import ConfigError

if TYPE_CHECKING:
    from hudproxy.env.environment import Environment

ENV_FILE = "env.py"


def locate(target: str | Path) -> tuple[Path, str]:
    """(folder, module name) for a folder holding env.py or a .py file."""
    path = Path(target).resolve()
    if path.is_dir():
        if not (path / ENV_FILE).exists():
            raise ConfigError(f"{path}: no {ENV_FILE} in this folder; give the folder of an environment or its file.")
        return path, "env"
    if path.suffix != ".py" or not path.exists():
        raise ConfigError(f"{target}: not an environment folder or a .py file.")
    return path.parent, path.stem


def package_name(folder: Path) -> str:
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    return f"hudproxy_env_{re.sub(r'[^A-Za-z0-9_]', '_', folder.name)}_{digest}"


def forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def load_env(target: str | Path, attribute: str | None = None) -> Environment:
    """Import the environment's module afresh and return its Environment (`env`, or the only one defined)."""
    from hudproxy.env.environment import Environment

    folder, module = locate(target)
    package = package_name(folder)
    forget(package)
    importlib.invalidate_caches()
    root = types.ModuleType(package)
    root.__path__ = [str(folder)]
    root.__file__ = str(folder / "__init__.py")
    sys.modules[package] = root
    loaded = importlib.import_module(f"{package}.{module}")
    if attribute is not None:
        found = getattr(loaded, attribute, None)
        if not isinstance(found, Environment):
            raise ConfigError(f"{folder / (module + '.py')}: {attribute!r} is not an Environment.")
        return found
    named = getattr(loaded, "env", None)
    if isinstance(named, Environment):
        return named
    candidates = [v for v in vars(loaded).values() if isinstance(v, Environment)]
    if len(candidates) != 1:
        found_count = len(candidates)
        raise ConfigError(f"{folder / (module + '.py')}: define one Environment, named `env` (found {found_count}).")
    return candidates[0]


def load_hub_env(name: str) -> tuple[Environment, str]:
    """`<hub>/<name>/env.py` from the local hub (`envs/` or $HUDPROXY_HUB); an unknown name lists the others."""
    from hudproxy import hub

    folder = hub.hub_dir() / name
    if not (folder / ENV_FILE).exists():
        having = [n for n in hub.available() if (hub.hub_dir() / n / ENV_FILE).exists()]
        raise ConfigError(
            f"no environment {name!r} in the hub {hub.hub_dir()}; available: {', '.join(having) or 'none'} "
            "(set HUDPROXY_HUB to use another folder)."
        )
    return load_env(folder), f"hub {folder}"
