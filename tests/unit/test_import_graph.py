"""The project's import graph, read from the source with `ast`: no circles, no private module
imported from outside its package, no module of 350 lines or more.

Every import counts, module-level and inside functions (a lazy import is still an arrow); only
imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the function and its tooling are made of; each checked in full.
CORE = ("main.py", "relay", "handlers", "bench", "tools")
# Everything, the emulators and the tests included.
EVERYTHING = (*CORE, "emulators", "tests")
MAX_LINES = 350
SCOPES = [pytest.param(CORE, id="core"), pytest.param(EVERYTHING, id="all")]


def _files(top: str) -> Iterator[Path]:
    path = ROOT / top
    if path.is_file():
        yield path
        return
    for file in sorted(path.rglob("*.py")):
        inside = file.relative_to(path).parts
        # Not a virtualenv or other hidden folder inside (`make bench` builds bench/.venv-prod).
        if "__pycache__" not in inside and not any(part.startswith(".") for part in inside):
            yield file


def _module_name(file: Path) -> str:
    parts = list(file.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules() -> dict[str, Path]:
    """Every module of the project by dotted name."""
    return {_module_name(file): file for top in EVERYTHING for file in _files(top)}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under `node`, but those only a type checker runs."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The project modules one import statement loads (the most specific one per name)."""
    known = _modules()
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts:
                yield ".".join(parts)
        return
    if node.level:
        is_package = _modules()[module].name == "__init__.py"
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    for alias in node.names:
        if f"{source}.{alias.name}" in known:
            yield f"{source}.{alias.name}"
        elif source in known:
            yield source


@functools.cache
def _graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports (itself left out)."""
    graph = {}
    for module, file in _modules().items():
        tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
        graph[module] = frozenset(
            target for node in _imports(tree) for target in _targets(module, node)
        ) - {module}
    return graph


def _in(module: str, tops: tuple[str, ...]) -> bool:
    return any(module == top.removesuffix(".py") or module.startswith(top + ".") for top in tops)


def _cycles(tops: tuple[str, ...]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), within `tops`."""
    graph = {
        module: sorted(t for t in targets if _in(t, tops))
        for module, targets in _graph().items()
        if _in(module, tops)
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _private_owner(target: str) -> str | None:
    """The package a private module belongs to (`relay` for `relay._pools`), or None."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return ".".join(parts[:i])
    return None


@pytest.mark.parametrize("tops", SCOPES)
def test_no_import_cycles(tops: tuple[str, ...]) -> None:
    """No module reaches itself again through its imports, lazy ones included."""
    assert _cycles(tops) == []


@pytest.mark.parametrize("tops", SCOPES)
def test_no_private_module_imported_from_outside_its_package(tops: tuple[str, ...]) -> None:
    """`pkg._mod` is imported only by modules inside `pkg`; others use the public names."""
    crossings = []
    for module, targets in _graph().items():
        if not _in(module, tops):
            continue
        for target in targets:
            owner = _private_owner(target)
            if owner is None or not _in(target, tops):
                continue
            if module != owner and not module.startswith(owner + "."):
                crossings.append(f"{module} -> {target}")
    assert sorted(crossings) == []


@pytest.mark.parametrize("tops", SCOPES)
def test_every_module_is_under_the_line_limit(tops: tuple[str, ...]) -> None:
    """Small modules with one job each: none reaches MAX_LINES lines."""
    long = {
        module: count
        for module, file in _modules().items()
        if _in(module, tops)
        and (count := len(file.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    }
    assert long == {}


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    """The checks above would pass vacuously if the reader missed imports: it does not."""
    graph = _graph()
    # Lazy, inside make_tracer and __getattr__: OpenTelemetry only when asked for.
    assert "relay.tracing._otel" in graph["relay.tracing"]
    # main.py's lazy import of the event handler, inside prompt_event.
    assert "handlers.event" in graph["main"]
    assert "relay.service" in graph["relay"]
    assert _cycles(("relay",)) == []
    assert _private_owner("relay.bulk._runs") == "relay.bulk"
    assert _private_owner("relay.tracing.__init__") is None
