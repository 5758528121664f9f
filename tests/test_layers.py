"""The layers import one way: the worker and the server build on ``corral.maintenance``
and on the facade (``corral.app``); none of them imports back into another."""

from __future__ import annotations

import ast
from pathlib import Path

import corral

ROOT = Path(corral.__file__).parent
GUARDED = ("corral.app", "corral.maintenance", "corral.worker")


def _module_name(path: Path) -> str:
    parts = ("corral", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The corral modules a module imports, at import time or inside a function alike
    (a lazy import still makes a circle); ``if TYPE_CHECKING:`` blocks are left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(ast.parse(path.read_text()), modules) - {name}
            for name, path in paths.items()}


def _reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def _guarded(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in GUARDED)


def _unit(name: str) -> str:
    """A guarded package stands for all its modules; any other module for itself."""
    return next((top for top in GUARDED if name == top or name.startswith(top + ".")), name)


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, imported in import_graph().items():
        graph.setdefault(_unit(name), set()).update(_unit(i) for i in imported)
    for name, imported in graph.items():
        imported.discard(name)
    return graph


def test_no_import_circle_through_the_facade_the_worker_or_the_services() -> None:
    graph = import_graph()
    circles = sorted(
        name for name in graph if _guarded(name) and name in _reaches(graph, name))
    assert circles == []


def test_no_import_circle_between_the_worker_the_services_and_the_facade() -> None:
    """Counted by package: ``corral.maintenance`` importing any ``corral.worker`` module
    while a worker module imports maintenance is a circle, even if no single module
    imports itself back."""
    graph = package_graph()
    assert {top: top in _reaches(graph, top) for top in GUARDED} == dict.fromkeys(
        GUARDED, False)


def test_maintenance_imports_neither_the_worker_nor_the_facade() -> None:
    graph = import_graph()
    for name, imported in graph.items():
        if name.startswith("corral.maintenance"):
            assert not {i for i in imported
                        if i.startswith(("corral.worker", "corral.http", "corral.cli"))
                        or i == "corral.app"}, name


def _store_uses(path: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and node.attr == "store"]


def test_the_cli_reaches_the_store_only_through_the_facade() -> None:
    """``app.store`` is the facade's; the CLI asks ``Corral`` (``list_jobs(ids=...)``)."""
    uses = {str(path.relative_to(ROOT)): _store_uses(path)
            for path in (ROOT / "cli").rglob("*.py")}
    assert {name: lines for name, lines in uses.items() if lines} == {}


def test_the_http_layer_touches_the_store_only_for_the_hub_metrics_and_health() -> None:
    uses = {str(path.relative_to(ROOT)): _store_uses(path)
            for path in (ROOT / "http").rglob("*.py")}
    assert {name for name, lines in uses.items() if lines} <= {"http/api.py"}


def test_no_import_circle_in_the_store() -> None:
    """The engine imports no driver and a driver imports its own helpers, never the
    engine back (``if TYPE_CHECKING`` imports aside): each store module reaches none of
    itself."""
    graph = import_graph()
    circles = sorted(name for name in graph
                     if name.startswith("corral.store") and name in _reaches(graph, name))
    assert circles == []


def test_the_engine_knows_no_backend() -> None:
    imported = import_graph()["corral.store.engine"]
    assert not {name for name in imported
                if name.startswith(("corral.store.sqlite", "corral.store.postgres"))}
