"""Layering: only studio/ui may import Qt, NodeGraphQt or qasync (so the core runs headless)."""

import ast
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


# Module-level imports between layers (docs/architecture.md). Imports inside functions are the
# runtime seams (the handler registry, credentials opened when a run starts) and are not layers.
MAY_IMPORT = {
    "catalog": set(),
    "flow": {"catalog"},
    "history": {"paths"},
    "triggers": {"flow"},
    "engine": {"catalog", "flow", "history", "triggers", "paths", "logs"},
    "connectors": {"catalog", "flow", "engine", "credentials", "paths", "logs"},
    "credentials": {"connectors", "paths"},
    "paths": set(),
    "logs": {"paths"},
    "resources": set(),
    "importers": {"catalog", "flow"},
}


def _layer(module: str) -> str:
    return module.split(".")[1].removesuffix(".py")


def module_level_imports(package_root: Path) -> dict[str, set[str]]:
    """Layer -> the other `studio` layers its modules import at module level."""
    found: dict[str, set[str]] = {}
    for path in package_root.rglob("*.py"):
        parts = path.relative_to(package_root).parts
        me = parts[0].removesuffix(".py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("studio.") and _layer(name) != me:
                    found.setdefault(me, set()).add(_layer(name))
    return found


def test_layers_import_only_what_the_architecture_allows():
    imports = module_level_imports(Path(__file__).resolve().parents[1] / "studio")
    wrong = {layer: sorted(deps - MAY_IMPORT[layer]) for layer, deps in imports.items()
             if layer in MAY_IMPORT and deps - MAY_IMPORT[layer]}
    assert wrong == {}


def test_layer_checker_sees_an_upward_import(tmp_path):
    package = tmp_path / "studio"
    (package / "catalog").mkdir(parents=True)
    (package / "catalog" / "bad.py").write_text("from studio.engine.executor import run_flow\n")
    assert module_level_imports(package) == {"catalog": {"engine"}}
