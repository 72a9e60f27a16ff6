"""The local hub of example environments: `envs/` beside the package, or `$HUDPROXY_HUB`."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from hudproxy.errors import ConfigError


def hub_dir() -> Path:
    configured = os.environ.get("HUDPROXY_HUB")
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "envs"


def available() -> list[str]:
    root = hub_dir()
    return (
        sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
        if root.is_dir()
        else []
    )


def load_module(env: str, module: str) -> ModuleType:
    """Import `<hub>/<env>/<module>.py` by path (the hub is a folder of files, not an installed package)."""
    path = hub_dir() / env / f"{module}.py"
    if not path.exists():
        names = ", ".join(available()) or "none"
        raise ConfigError(f"{path}: not found; environments in {hub_dir()}: {names} (set HUDPROXY_HUB to change).")
    name = f"hudproxy_hub_{env}_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded
