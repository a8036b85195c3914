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
