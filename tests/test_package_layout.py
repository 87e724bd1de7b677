"""The package layout keeps its promises: a public face at the root, rooms without import circles, no private
name used outside its module, and no reader (data, preview) importing a writer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fdsl"
PUBLIC_FACE = {"__init__.py", "__main__.py", "api.py", "cli.py"}
ROOMS = {"core", "kernels", "formulas", "catalog", "write", "data", "train", "experiments", "preview", "viz",
         "commands"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken) for every import in the file, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fdsl"):
            names = [a.name for a in node.names]
            submodules = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in MODULES]
            taken = [n for n in names if f"{node.module}.{n}" not in MODULES]
            if taken:  # ``from pkg import submodule`` is an arrow to the submodule only
                found.append((node.module, taken))
            found += [(m, []) for m in submodules]
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("fdsl")]
    return found


def graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        # The package's lazy facade (``fdsl.__init__`` loads ``fdsl.api`` on first use) is the one allowed loop.
        edges[name] = {target for target, _ in imports(path) if target in MODULES and target != name and name != "fdsl"}
    return edges


def test_the_root_holds_only_the_public_face():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in PUBLIC_FACE)
    assert loose == [], f"modules at the package root outside the public face: {loose}"
    rooms = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert set(rooms) <= ROOMS, f"rooms not in the layout: {set(rooms) - ROOMS}"
    assert all((PACKAGE / room / "__init__.py").exists() for room in rooms)


def test_no_import_circle():
    edges, seen, stack, circles = graph(), set(), [], []

    def visit(node, on_path):
        seen.add(node)
        stack.append(node)
        on_path.add(node)
        for target in sorted(edges[node]):
            if target in on_path:
                circles.append(stack[stack.index(target):] + [target])
            elif target not in seen:
                visit(target, on_path)
        on_path.discard(node)
        stack.pop()

    for module in sorted(edges):
        if module not in seen:
            visit(module, set())
    assert circles == [], "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_no_private_name_crosses_a_module():
    crossings = [f"{name} takes {target}.{n}" for name, path in MODULES.items() for target, names in imports(path)
                 for n in names if n.startswith("_") and not n.startswith("__")]
    assert crossings == []


@pytest.mark.parametrize("reader", ["fdsl.data", "fdsl.preview", "fdsl.formulas", "fdsl.kernels", "fdsl.core"])
def test_readers_and_lower_layers_do_not_import_writers(reader):
    wrong = sorted(f"{name} -> {target}" for name, targets in graph().items() if name.startswith(reader)
                   for target in targets if target.startswith("fdsl.write"))
    assert wrong == []


def test_kernels_and_core_know_nothing_above_them():
    above = ("fdsl.formulas", "fdsl.catalog", "fdsl.write", "fdsl.data", "fdsl.train", "fdsl.experiments",
             "fdsl.preview", "fdsl.viz", "fdsl.commands")
    wrong = sorted(f"{name} -> {target}" for name, targets in graph().items()
                   if name.startswith(("fdsl.kernels", "fdsl.core")) for target in targets if target.startswith(above))
    assert wrong == []


def test_the_circle_check_can_fail(monkeypatch):
    """The circle finder sees a circle when there is one (a check that cannot fail would prove nothing)."""
    fake = {"a": {"b"}, "b": {"a"}}
    monkeypatch.setitem(globals(), "graph", lambda: fake)
    with pytest.raises(AssertionError, match="a -> b -> a"):
        test_no_import_circle()
