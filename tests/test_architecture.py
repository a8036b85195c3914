"""Layering: only studio/ui may import Qt, NodeGraphQt or qasync (so the core runs headless); each
layer imports only the layers below it, at module level and inside functions alike; and no
modules import each other (no import cycles). docs/architecture.md describes the layers."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import studio

GUI_MODULES = {"qtpy", "PySide6", "PyQt5", "PyQt6", "NodeGraphQt", "qasync", "shiboken6"}
ROOT = Path(studio.__file__).parent


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_ui_imports_gui_toolkits():
    offenders = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "ui":
            continue
        bad = imported_top_modules(path) & GUI_MODULES
        if bad:
            offenders[str(rel)] = sorted(bad)
    assert offenders == {}, f"GUI toolkit imported outside studio/ui: {offenders}"


def test_checker_sees_a_gui_import(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("from qtpy import QtWidgets\nimport NodeGraphQt.nodes\n")
    assert imported_top_modules(sample) == {"qtpy", "NodeGraphQt"}


# --- layers ---------------------------------------------------------------------------------------

ALL = {"catalog", "flow", "engine", "history", "triggers", "credentials", "connectors", "runs", "testing", "importers",
       "queue", "cli", "paths", "logs", "resources", "processes", "jsontext"}

# What each layer may import (docs/architecture.md), at module level and inside functions.
MAY_IMPORT = {
    "catalog": set(),
    "flow": {"catalog"},
    "history": {"paths", "jsontext"},
    "triggers": {"flow"},
    "engine": {"catalog", "flow", "history", "triggers", "paths", "logs"},
    "connectors": {"catalog", "flow", "engine", "credentials", "paths", "logs", "jsontext"},
    "credentials": {"catalog", "flow", "connectors", "paths"},
    "runs": {"catalog", "flow", "engine", "history", "triggers", "credentials", "connectors", "paths", "logs"},
    "cli": {"catalog", "flow", "runs", "testing", "importers", "queue", "paths", "logs"},
    "queue": {"catalog", "flow", "engine", "history", "credentials", "connectors", "runs", "paths", "logs",
              "processes"},
    "ui": ALL - {"cli"},
    "__main__": {"cli"},
    "paths": set(),
    "processes": set(),
    "jsontext": set(),
    "logs": {"paths"},
    "resources": set(),
    "testing": {"catalog", "flow", "engine", "connectors", "credentials", "runs", "paths", "logs"},
    "importers": {"catalog", "flow", "history"},
}

# The runtime seams: imports across the table that happen on purpose, each with its reason.
SEAMS = {
    ("studio.engine.handlers", "connectors"):
        "the handler registry imports the handler modules by name (HANDLER_MODULES) the first time a "
        "run needs them, and they register themselves; the engine never imports a connector otherwise",
    ("studio.cli", "ui"):
        "`studio gui` (the default command) opens the editor; Qt is imported only for it, so the "
        "headless commands never load it",
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "studio.runs.service"
    target: str  # the imported module, e.g. "studio.engine.executor"
    line: int
    in_function: bool  # inside a def (a runtime import), not at module level
    by_name: bool = False  # a module named in a string, imported later with importlib
    type_only: bool = False  # under `if TYPE_CHECKING:`: read by type checkers, never run


def module_name(package_root: Path, path: Path) -> str:
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(package_root: Path, name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    base = package_root / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(package_root: Path, me: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = me.split(".") if is_package else me.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _in_functions(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside a def or lambda (at any depth)."""
    inside: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(n) for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return inside


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:` (never executed)."""
    only: set[int] = set()
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            for stmt in block.body:
                only.update(id(n) for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return only


def imports_of(package_root: Path) -> list[Import]:
    """Every import of a `studio` module by a module under package_root, wherever it is written."""
    found: list[Import] = []
    for path in sorted(package_root.rglob("*.py")):
        me = module_name(package_root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        inside = _in_functions(tree)
        typing_only = _type_checking_only(tree)
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = _resolve(package_root, me, path.name == "__init__.py", node)
                subs = [f"{module}.{a.name}" for a in node.names if _is_module(package_root, f"{module}.{a.name}")]
                targets = subs if len(subs) == len(node.names) else [module, *subs]
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and node.value.startswith("studio.") and _is_module(package_root, node.value)):
                found.append(Import(me, node.value, node.lineno, True, by_name=True))
                continue
            for target in targets:
                if target == "studio" or target.startswith("studio."):
                    found.append(Import(me, target, node.lineno, id(node) in inside, type_only=id(node) in typing_only))
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_violations(package_root: Path, may_import: dict[str, set[str]] = MAY_IMPORT,
                     seams: dict[tuple[str, str], str] = SEAMS) -> list[str]:
    """One line per import that crosses the table outside a named seam."""
    wrong = []
    for imp in imports_of(package_root):
        mine, theirs = layer_of(imp.source), layer_of(imp.target)
        if mine == theirs or (imp.source, theirs) in seams:
            continue
        if mine not in may_import:
            wrong.append(f"{imp.source}: layer {mine!r} is not in the layer table")
        elif theirs not in may_import[mine]:
            where = "by name" if imp.by_name else "inside a function" if imp.in_function else "at module level"
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target} ({where}): {mine} may not import {theirs}")
    return wrong


# Cycles known and not yet untangled, by module-name prefix, each with its reason.
KNOWN_CYCLES = {
    ("studio.connectors.openai.fake_server", "studio.connectors.openai.simulated"):
        "`python -m studio.connectors.openai.fake_server` serves the simulated model, whose answers are "
        "the fake server's ToolCall objects; the command line belongs next to the simulated model",
}


def import_cycles(package_root: Path) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan's SCCs).
    Left out: imports by name (the handler registry loading handler modules, which then register
    into it: registering back is their point, and the layer check still covers them) and imports
    under `if TYPE_CHECKING:`, which never run."""
    graph: dict[str, set[str]] = {}
    for imp in imports_of(package_root):
        if imp.source != imp.target and not imp.by_name and not imp.type_only:
            graph.setdefault(imp.source, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_layers_import_only_what_the_architecture_allows():
    assert layer_violations(ROOT) == []


def test_every_seam_is_still_used():
    used = {(imp.source, layer_of(imp.target)) for imp in imports_of(ROOT)}
    assert set(SEAMS) <= used, f"seams no longer needed (remove them): {set(SEAMS) - used}"


def _known(cycle: list[str]) -> tuple[str, ...] | None:
    return next((k for k in KNOWN_CYCLES if all(m.startswith(k) for m in cycle)), None)


def test_no_modules_import_each_other():
    assert [c for c in import_cycles(ROOT) if _known(c) is None] == []


def test_every_known_cycle_is_still_there():
    found = {_known(c) for c in import_cycles(ROOT)}
    assert set(KNOWN_CYCLES) <= found, f"untangled (remove from KNOWN_CYCLES): {set(KNOWN_CYCLES) - found}"


def test_layer_checker_sees_upward_imports_at_module_level_and_inside_functions(tmp_path):
    package = tmp_path / "studio"
    (package / "catalog").mkdir(parents=True)
    (package / "engine").mkdir()
    (package / "engine" / "executor.py").write_text("")
    (package / "catalog" / "bad.py").write_text("from studio.engine.executor import run_flow\n")
    (package / "catalog" / "sly.py").write_text("def later():\n    from ..engine import executor\n")
    (package / "catalog" / "named.py").write_text('HANDLERS = ("studio.engine.executor",)\n')
    wrong = layer_violations(package)
    assert len(wrong) == 3, wrong
    assert "studio.catalog.bad:1 imports studio.engine.executor (at module level)" in wrong[0]
    assert "studio.catalog.named:1 imports studio.engine.executor (by name)" in wrong[1]
    assert "studio.catalog.sly:2 imports studio.engine.executor (inside a function)" in wrong[2]
    # a named seam is allowed, and only for the module it names
    assert layer_violations(package, seams={("studio.catalog.sly", "engine"): "test"}) == wrong[:2]


def test_cycle_checker_sees_two_modules_importing_each_other(tmp_path):
    package = tmp_path / "studio"
    (package / "runs").mkdir(parents=True)
    (package / "runs" / "a.py").write_text("from . import b\n")
    (package / "runs" / "b.py").write_text("def f():\n    from studio.runs.a import x\n")
    (package / "runs" / "c.py").write_text("from studio.runs import a\n")
    (package / "runs" / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import e\n")
    (package / "runs" / "e.py").write_text("from . import d\n")  # d's import of e never runs: no cycle
    assert import_cycles(package) == [["studio.runs.a", "studio.runs.b"]]
