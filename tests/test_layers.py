"""The layers of the code base, checked by reading every module's imports.

    legal_aid  (the law and the policy files; imports none of the others)
       ▲
    store      (persistence; may import legal_aid)
       ▲
    voice · rasa_ext · actions · bot   (may import the layers below, never
                                        each other in a circle)

A package cycle (A imports B and B, somewhere, imports A) makes a change in
one of them a change in both: it fails here before it is merged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("legal_aid", "store", "voice", "rasa_ext", "actions", "bot", "scripts", "bench")
# What each package must never import (beyond the cycle check).
FORBIDDEN = {
    "legal_aid": {"actions", "bot", "store", "voice", "rasa_ext", "scripts", "bench"},
    "store": {"actions", "bot", "voice", "rasa_ext", "scripts", "bench"},
    "voice": {"actions", "bot", "rasa_ext", "scripts", "bench"},
    "actions": {"bot", "rasa_ext", "scripts", "bench"},
    "rasa_ext": {"actions", "bot", "voice", "scripts", "bench"},
    "bot": {"actions", "rasa_ext", "scripts", "bench"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            relative = path.relative_to(PROJECT).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            yield ".".join(parts), path


def package_of(module: str, path: Path) -> str:
    """The package a module belongs to: its folder's dotted name."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imported(module: str, path: Path) -> set[str]:
    """The project modules `module` imports, at any depth of its code."""
    found: set[str] = set()
    package = package_of(module, path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def package_graph(top_level: bool) -> dict[str, set[str]]:
    """Which package imports which: the top-level packages, or every folder."""
    paths = dict(modules())

    def node(module: str) -> str:
        package = package_of(module, paths[module])
        return package.split(".")[0] if top_level else package

    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        for name in imported(module, path):
            while name and name not in paths:  # `from pkg.mod import function`
                name = name.rpartition(".")[0]
            source, target = node(module), node(name)
            # A package assembling its own sub-packages (bot/app.py adding the
            # console) is composition: only the way back up counts.
            if name and source != target and not target.startswith(source + "."):
                graph.setdefault(source, set()).add(target)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the path around it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("top_level", [True, False], ids=["packages", "sub-packages"])
def test_no_package_imports_itself_in_a_circle(top_level):
    found = cycle(package_graph(top_level))
    assert found is None, " → ".join(found or [])


def test_the_lower_layers_import_nothing_from_the_higher_ones():
    graph = package_graph(top_level=True)
    wrong = {
        (package, target)
        for package, forbidden in FORBIDDEN.items()
        for target in graph.get(package, set()) & forbidden
    }
    assert not wrong, sorted(wrong)


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
