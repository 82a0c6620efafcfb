"""The shape of the code (docs/ARCHITECTURE.md): no import cycles, no hidden imports, small
modules, a command line that starts without the heavy libraries.

The layers themselves are checked by ``lint-imports`` (pyproject.toml); these checks are the
rest of the contract.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "configurator"
#: function-local imports of configurator modules are allowed only here (they keep
#: ``configurator --help`` fast)
LAZY_OK = ("entrypoints/cli/", "entrypoints/bench/")
MAX_LINES = 600
MAX_SERVICE_LINES = 450


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles():
    graph = grimp.build_graph("configurator")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(m)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b"]]


def _function_local_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(
                "configurator"
            ):
                found.append(f"{path.relative_to(REPO)}:{inner.lineno} from {inner.module}")
            elif isinstance(inner, ast.Import) and any(
                a.name.startswith("configurator") for a in inner.names
            ):
                found.append(f"{path.relative_to(REPO)}:{inner.lineno} import")
    return found


def test_function_local_imports_only_in_cli_and_bench():
    hidden = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(LAZY_OK):
            continue
        hidden += _function_local_imports(path)
    assert hidden == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_modules_stay_small(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    limit = MAX_SERVICE_LINES if "services" in path.relative_to(PACKAGE).parts else MAX_LINES
    assert lines <= limit, f"{path.relative_to(REPO)} has {lines} lines (limit {limit})"


def test_help_imports_no_heavy_library():
    """``configurator --help`` builds every sub-command's parser without importing the
    numerical, web or database stack (what keeps it well under 300 ms)."""
    code = (
        "import sys\n"
        "from configurator.entrypoints.cli import build_parser\n"
        "build_parser()\n"
        "heavy = ['numpy', 'pymoo', 'trimesh', 'manifold3d', 'sklearn', 'sqlalchemy',\n"
        "         'fastapi', 'httpx', 'pydantic', 'scipy', 'matplotlib']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == ""
