"""The import graph runs one way, as the README's Layout says: every module's `hudproxy` imports (parsed with
ast, including imports inside functions and under TYPE_CHECKING) checked against the table below.

The core is layered: a core package imports only packages below it. The adapters compose the core and each
other, but the core never imports an adapter, and no two packages import each other (directly or round a
longer cycle).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import hudproxy

ROOT = Path(hudproxy.__file__).parent

# The core, bottom to top: data flows traffic -> interaction -> cassette -> index/matching -> replay -> journal,
# and each layer imports only those before it in this list (replay writes the journal, so the journal sits
# below replay; the recorder replays what it already has, so it sits above replay). The resource model is learned
# from a cassette's matched traffic and consulted by replay, so it sits between matching and replay. Grading
# scores what a run left (journal rows, resource state), so it is the top of the core. Fault rules (`faults`) are
# decided by replay and named in its outcomes and the journal, so they sit just above the interaction model.
BASE = ("errors", "lazy", "choices", "netutil", "yamlsource")  # plain helpers every layer may use
CORE = ("interaction", "faults", "scrub", "cassette", "matching", "resources", "journal", "replay", "record", "grading")

# Modules that live in a core folder for their users' sake but are adapters (they start a mitmproxy thread).
ADAPTER_MODULES = {"record.background": "runs the mitmproxy recording proxy on a thread (demo, Python API, tests)"}


def package_of(module: str) -> str:
    """`hudproxy.replay.engine` -> `replay`; `hudproxy.serving` -> `serving`; the root package -> ``."""
    parts = module.split(".")[1:]
    if ".".join(parts[:2]) in ADAPTER_MODULES:
        return ".".join(parts[:2])
    return parts[0] if parts else ""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path) -> bool:
    relative = Path(*name.split(".")[1:])
    return (root / relative).is_dir() or (root / relative).with_suffix(".py").is_file()


def imports_of(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every `hudproxy` import in the file: relative ones resolved, and
    `from package import module` taken as that module."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            else:
                names = [node.module or ""]
            names = [
                f"{names[0]}.{a.name}" if is_module(f"{names[0]}.{a.name}", root) else names[0] for a in node.names
            ]
        else:
            continue
        yield from ((node.lineno, name) for name in names if name == "hudproxy" or name.startswith("hudproxy."))


def allowed(importer: str, imported: str) -> bool:
    """May package `importer` import package `imported`?"""
    if imported in ("", importer) or imported in BASE:
        return True  # the root package only re-exports lazily (`__version__`)
    if importer in CORE:
        return imported in CORE and CORE.index(imported) < CORE.index(importer)
    return True  # adapters compose anything; cycles among them are checked separately


def package_edges() -> dict[tuple[str, str], str]:
    """(importer package, imported package) -> the first `module:line imports name` that makes the edge."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        importer = package_of(module)
        for line, name in imports_of(path):
            imported = package_of(name)
            if imported not in ("", importer):
                edges.setdefault((importer, imported), f"{module}:{line} imports {name}")
    return edges


def test_the_core_imports_only_the_layers_below_it() -> None:
    wrong = [f"{where} ({a} may not import {b})" for (a, b), where in package_edges().items() if not allowed(a, b)]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_two_packages_import_each_other() -> None:
    edges = package_edges()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    cycles = []
    for start in sorted(graph):
        path = find_path(graph, start, start)
        if path:
            steps = [edges[(x, y)] for x, y in itertools.pairwise(path)]
            cycles.append(" -> ".join(path) + ":\n  " + "\n  ".join(steps))
    assert not cycles, "import cycles between packages:\n" + "\n".join(cycles)


def find_path(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A path start -> ... -> goal of at least one edge (breadth first, so the shortest)."""
    frontier = [[start, nxt] for nxt in sorted(graph.get(start, ()))]
    seen: set[str] = set()
    while frontier:
        path = frontier.pop(0)
        if path[-1] == goal:
            return path
        if path[-1] in seen:
            continue
        seen.add(path[-1])
        frontier.extend([*path, nxt] for nxt in sorted(graph.get(path[-1], ())))
    return None


def test_the_checker_sees_a_back_import(tmp_path: Path) -> None:
    """The parser finds function-level and relative imports, and the table refuses a core module importing up."""
    source = tmp_path / "hudproxy" / "journal" / "entry.py"
    source.parent.mkdir(parents=True)
    (tmp_path / "hudproxy" / "mcp").mkdir()
    (tmp_path / "hudproxy" / "mcp" / "why.py").write_text("")
    source.write_text("def f():\n    from ..replay.engine import Outcome\n    from hudproxy.mcp import why, x\n")
    found = list(imports_of(source, tmp_path / "hudproxy"))
    assert found == [(2, "hudproxy.replay.engine"), (3, "hudproxy.mcp.why"), (3, "hudproxy.mcp")]
    assert not allowed("journal", "replay") and not allowed("replay", "mcp") and not allowed("cassette", "mcp")
    assert allowed("replay", "journal") and allowed("record.background", "proxy") and allowed("mcp", "replay")
