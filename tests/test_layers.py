"""The floors of the code, read from its imports (docs/architecture.md).

Every module of the six packages is parsed, not imported, and every import in it counts, at
the top of the module or inside a function (an import deferred into a function still makes
the module depend on the other). Two promises: no import cycle between modules, and no
import goes up the floors, across to a sibling on the same floor, or from the dashboard into
the loader; the few that still go up are listed, and the list must match what is found.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. Packages on one floor are siblings: neither imports the other.
FLOORS = (("data_contracts",), ("warehouse",), ("etl", "metrics"), ("dashboard", "turnaround"))
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}
# The one import between the interfaces: the CLI serves the dashboard.
SERVES = {("turnaround.commands.serve", "dashboard")}
# Lower packages a package still must not import: the dashboard only reads, and what it
# reads of the loads (data health, run history) lives in metrics/, not in the loader.
APART = {("dashboard", "etl")}


def module_name(path: Path) -> str:
    """``metrics/api.py`` -> ``metrics.api``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    """Every module of the six packages, by dotted name."""
    return {
        module_name(path): path
        for package in FLOOR
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported(name: str, source: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` (of text ``source``) imports, wherever
    in it the import stands. ``from a import b`` imports ``a.b`` when that is a module, else
    ``a``; ``import a.b`` imports ``a.b`` (or its nearest known parent)."""
    is_package = name in {m.rsplit(".", 1)[0] for m in known if "." in m}
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(_nearest(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                package = name.split(".") if is_package else name.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *filter(None, [base])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else _nearest(base, known))
    found.discard(name)
    return found - {""}


def _nearest(dotted: str, known: set[str]) -> str:
    """``dotted`` or its longest prefix that is a known module; "" for none."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return ""


def import_graph() -> dict[str, set[str]]:
    """Each project module -> the project modules it imports."""
    modules = project_modules()
    known = set(modules)
    return {name: imported(name, path.read_text(), known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or [] when the graph has none."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str]:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        on_path.discard(path.pop())
        done.add(node)
        return []

    for node in sorted(graph):
        if node not in done:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def goes_up(importer: str, target: str) -> bool:
    """True when ``importer`` importing ``target`` points up the floors, to a sibling, or
    into a package kept APART from it."""
    low, high = importer.split(".")[0], target.split(".")[0]
    if low == high or (importer, target) in SERVES:
        return False
    return FLOOR[high] >= FLOOR[low] or (low, high) in APART


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in graph.items() for b in targets if goes_up(a, b)}


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_imports_point_down_the_floors():
    found = sorted(upward_imports(import_graph()))
    assert not found, "imports up the floors (or to a sibling, or APART): " + ", ".join(
        f"{a} -> {b}" for a, b in found
    )


def test_imports_inside_functions_and_relative_ones_are_read():
    known = {"etl", "etl.load", "etl.zendesk", "etl.zendesk.api", "metrics", "metrics.api"}
    source = (
        "import etl.zendesk.api\n"
        "from . import api\n"
        "def late():\n"
        "    from metrics.api import compute_kpis\n"
        "    from etl import load\n"
    )
    assert imported("etl.zendesk.reader", source, known | {"etl.zendesk.reader"}) == {
        "etl.zendesk.api",
        "metrics.api",
        "etl.load",
    }


def test_a_cycle_is_reported_and_sideways_imports_count_as_up():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
    assert goes_up("etl.load", "metrics.api") and goes_up("warehouse.schema", "etl.load")
    assert not goes_up("metrics.api", "warehouse.schema")
    assert not goes_up("turnaround.commands.serve", "dashboard")
    assert goes_up("dashboard.ui", "turnaround.commands.serve")
    assert goes_up("dashboard.app", "etl.load") and not goes_up("turnaround.cli", "etl.load")
