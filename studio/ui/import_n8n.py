"""File > Import > n8n workflow…: pick an n8n export, convert it with studio.importers.n8n, open
the result as a new unsaved flow (pins stored in the run history) and show the import report:
placeholders to replace, expressions kept as n8n text, connections to set up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtGui import QAction
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QMenu, QPlainTextEdit, QVBoxLayout

if TYPE_CHECKING:  # pragma: no cover
    from studio.importers.n8n import ImportResult

N8N_FILTER = "n8n workflow (*.json);;All files (*)"


def install(window: Any) -> QAction:
    """Add an Import submenu with 'n8n workflow…' to the window's File menu (before its other
    import entry) and return the action."""
    action = QAction("&n8n workflow…", window)
    action.setStatusTip("Open an n8n workflow export as a new flow")
    action.triggered.connect(lambda _checked=False: import_dialog(window))
    file_menu = window.menuBar().actions()[0].menu()
    submenu = QMenu("&Import", file_menu)
    submenu.addAction(action)
    file_menu.insertMenu(window.act_import, submenu)
    window.act_import_n8n = action
    return action


def import_dialog(window: Any) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Import n8n workflow", window._last_dir(), N8N_FILTER)
    if path:
        import_n8n_file(window, path)


def import_n8n_file(window: Any, path: str | Path) -> "ImportResult | None":
    """Convert `path` and open the flow; None (after saying why) when it is not an n8n workflow."""
    from studio.flow.io import dump_flow
    from studio.importers.n8n import NotAnN8nWorkflow, import_file
    from studio.importers.n8n.pins import save_pins

    if not window.maybe_save():
        return None
    try:
        result = import_file(path)
    except NotAnN8nWorkflow as exc:
        window.ask("Cannot import", str(exc), ["OK"])
        return None
    problem = save_pins(result, window.history_panel.history)
    if problem:
        result.report.warnings.append(problem)
    window.document.load(result.flow, None)  # a new, unsaved flow: Save asks where
    window.origin_dir = Path(path).resolve().parent
    # Someone else's workflow: what it would start or contact needs the user's trust first.
    window._set_trust_source(result.flow, dump_flow(result.flow).encode("utf-8"))
    window.canvas.clear_statuses()
    window.runs.last_outputs.clear()
    window._show_canvas()
    window.canvas.fit()
    window.refresh_side_panels()
    window.n8n_report = show_report(window, Path(path).name, result)
    window.show_message(f"Imported {Path(path).name}: " + result.report.summary_lines()[0])
    return result


def show_report(window: Any, source: str, result: "ImportResult") -> QDialog:
    """The report in a window of its own (not modal: the user may look at the canvas meanwhile)."""
    dialog = QDialog(window)
    dialog.setWindowTitle(f"Imported {source}")
    layout = QVBoxLayout(dialog)
    text = QPlainTextEdit("\n".join(result.report.summary_lines()))
    text.setReadOnly(True)
    layout.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout.addWidget(buttons)
    dialog.resize(640, 320)
    dialog.show()
    return dialog
