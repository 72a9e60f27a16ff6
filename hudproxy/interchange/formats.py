"""The format registry, and the two operations over it: import a file as a scrubbed cassette, export one.

Format modules are imported by name on use, so `hudproxy import har` never loads mitmproxy.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from hudproxy import __version__
from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import FORMAT_VERSION, Cassette
from hudproxy.cassette.values import unsendable
from hudproxy.errors import CassetteError, ConfigError
from hudproxy.interaction.model import Interaction
from hudproxy.scrub.mcp import scrub_any
from hudproxy.scrub.policy import ScrubPolicy

IMPORT_FORMATS = {
    "har": "HAR 1.2, as browsers' DevTools and most proxies save it",
    "mitm": "a mitmproxy flow file (mitmdump -w FILE)",
    "vcr": "a vcrpy cassette (YAML, or JSON by extension)",
}
EXPORT_FORMATS = {"har": "HAR 1.2, for browsers' DevTools and HAR viewers"}


def _module(name: str, formats: dict[str, str], verb: str) -> ModuleType:
    key = name.strip().lower()
    if key not in formats:
        raise ConfigError(f"unknown {verb} format {name!r}; valid formats: {', '.join(formats)}.")
    return importlib.import_module(f"hudproxy.interchange.{key}")


def _existing(path: Path) -> Path:
    if not path.exists():
        raise CassetteError(f"{path}: no such file.")
    if path.is_dir():
        raise CassetteError(f"{path}: is a directory, expected a file.")
    return path


def read_file(name: str, path: str | Path) -> Cassette:
    """The file's exchanges as they are (nothing scrubbed); errors name the file and what is wrong."""
    module = _module(name, IMPORT_FORMATS, "import")
    return module.read(_existing(Path(path)))


def import_file(name: str, path: str | Path, scrub: ScrubPolicy | None = None) -> Cassette:
    """A hudproxy cassette from another tool's file, scrubbed with `scrub` (default policy unless given)."""
    path = Path(path)
    source = read_file(name, path)
    if not source.interactions:
        raise CassetteError(f"{path}: holds no HTTP or MCP exchange with a response; nothing to import.")
    policy = scrub or ScrubPolicy.default()
    interactions = [_loadable(path, replace(scrub_any(i, policy), index=n)) for n, i in enumerate(source.interactions)]
    return Cassette(interactions=interactions, meta=_meta(source.meta, name.strip().lower(), path, policy))


def _loadable(path: Path, interaction: Interaction) -> Interaction:
    """The loader's value checks, at import: a source exchange it would refuse (status 999, CR/LF in a header)
    is one line naming it, not a cassette written that never loads."""
    problem = unsendable(interaction)
    if problem is not None:
        raise CassetteError(
            f"{path}: exchange #{interaction.index} ({interaction.request.describe()}): {problem}; "
            "fix or delete that entry in the source."
        )
    return interaction


def _meta(source: dict[str, Any], name: str, path: Path, policy: ScrubPolicy) -> dict[str, Any]:
    """The source's own facts (a vcrpy/hudproxy cassette has some), plus where it came from and how scrubbed.

    With --keep-secrets a source's recorded scrub policy stays: its placeholders still need normalising.
    """
    meta = {k: v for k, v in source.items() if k != "format"}
    meta.setdefault("recorded_with", f"hudproxy {__version__}")
    meta["imported_from"] = {"format": name, "file": path.name}
    if policy.enabled or "scrub" not in meta:
        meta["scrub"] = policy.to_dict()
    return {"format": FORMAT_VERSION, **meta}


def export_cassette(name: str, cassette_path: str | Path, out: str | Path) -> int:
    """Write the cassette at `cassette_path` to `out` in format `name`; returns how many exchanges."""
    module = _module(name, EXPORT_FORMATS, "export")
    cassette = load_cassette(cassette_path)
    module.write(cassette, Path(out))
    return len(cassette.interactions)
