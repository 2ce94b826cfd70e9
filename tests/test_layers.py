"""The layering of tracker/ as a contract: import-linter's contracts hold, every package is
in them, no module imports itself round a circle, and imports inside functions go downward
and say why."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT

PACKAGES = sorted(p.name for p in (ROOT / "tracker").iterdir() if (p / "__init__.py").exists())


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("tracker", include_external_packages=True)


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _layers() -> list[str]:
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    return layers


def test_the_import_linter_contracts_hold():
    # In a process of its own: import-linter's logging setup disables every existing logger.
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in done.stdout


def test_every_package_of_tracker_is_in_the_layers():
    named = {part.strip().removeprefix("tracker.") for layer in _layers() for part in layer.split("|")}
    assert named == set(PACKAGES)


def test_no_import_cycles_between_modules(graph):
    ours = {m for m in graph.modules if m == "tracker" or m.startswith("tracker.")}
    cycles = _strongly_connected(ours, lambda m: graph.find_modules_directly_imported_by(m) & ours)
    assert cycles == []


def test_no_import_cycles_between_packages(graph):
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        if importer.startswith("tracker."):
            for imported in graph.find_modules_directly_imported_by(importer):
                if imported.startswith("tracker.") and package(imported) != package(importer):
                    edges.setdefault(package(importer), set()).add(package(imported))
    assert _strongly_connected(set(edges) | {p for ps in edges.values() for p in ps}, lambda p: edges.get(p, set())) == []


def test_the_core_imports_no_other_package_and_no_infrastructure(graph):
    core = {m for m in graph.modules if m.startswith("tracker.core")}
    reached = {imported for m in core for imported in graph.find_modules_directly_imported_by(m)}
    outside = {m for m in reached if m.startswith("tracker.") and not m.startswith("tracker.core")}
    infrastructure = {"sqlalchemy", "sqlmodel", "httpx", "structlog", "apscheduler", "psycopg", "alembic"}
    assert outside == set() and {m.split(".")[0] for m in reached} & infrastructure == set()


def _function_imports() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted((ROOT / "tracker").rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                        found.append((str(path.relative_to(ROOT)), sub.lineno, module, lines[sub.end_lineno - 1]))
    return found


def test_imports_inside_functions_say_why_in_three_words_or_fewer():
    unexplained = [
        f"{path}:{line}" for path, line, _, text in _function_imports()
        if "#" not in text or len(text.split("#", 1)[1].split()) > 3
    ]
    assert unexplained == []


def test_imports_inside_functions_only_go_down_the_layers():
    rank = {p.strip(): i for i, layer in enumerate(_layers()) for p in layer.split("|")}

    def layer(module: str) -> int | None:
        return rank.get(".".join(module.split(".")[:2]))

    upward = []
    for path, line, module, _ in _function_imports():
        importer = layer(path.removesuffix(".py").replace("/", "."))
        imported = layer(module) if module.startswith("tracker.") else None
        if importer is not None and imported is not None and imported < importer:
            upward.append(f"{path}:{line} imports {module}")
    assert upward == []


def _strongly_connected(nodes: set[str], successors) -> list[list[str]]:
    """Tarjan's algorithm: the groups of nodes that reach each other (cycles), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(successors(node)):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return sorted(groups)
