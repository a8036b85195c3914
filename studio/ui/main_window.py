"""The main window: canvas in the centre, palette (left), property panel (right), run panel
(bottom), toolbar, menus and status bar. It wires the views to one FlowDocument and one
RunController; it holds no flow state of its own."""

from __future__ import annotations

import json
import logging
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QPoint, Qt, QTimer
from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from studio.catalog import load_catalog
from studio.catalog.catalog import Catalog
from studio.flow.models import Flow, Node, Position, new_id

from .bridge import RunController
from .canvas import FlowCanvas
from .chat_panel import ChatPanel, controller_runner
from .document import FlowDocument
from . import import_n8n
from .history_panel import HistoryPanel
from .palette import Palette
from .panel.property_panel import PropertyPanel
from .panel.widgets import EditorContext
from .problems import ProblemsList
from .run_inputs import RunInputsForm
from .run_panel import RunPanel
from .tests_panel import install_tests_panel
from .theme import apply_theme
from .trust_dialog import ensure_trusted
from .welcome import WelcomePage

log = logging.getLogger(__name__)

FILE_FILTER = "Flow files (*.flow.json *.json);;All files (*)"
MAX_RECENT = 10
AUTOSAVE_MS = 3000
DEFAULT_RUN_CONNECTION = "Default connection"


def _state_file(name: str) -> Path:
    from studio.paths import state_dir

    return state_dir() / name


def load_settings() -> dict[str, Any]:
    try:
        return json.loads(_state_file("editor.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_settings(settings: dict[str, Any]) -> None:
    try:
        _state_file("editor.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    except OSError:
        log.warning("could not save editor settings", exc_info=True)


def documents_dir() -> Path:
    """The user's documents folder (the home folder when there is none)."""
    from qtpy.QtCore import QStandardPaths

    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def recovery_dir() -> Path:
    folder = _state_file("recovery")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class MainWindow(QMainWindow):
    def __init__(self, catalog: Catalog | None = None, *, run_base_url: str | None = None,
                 theme: str | None = None, record_history: bool = True, autosave: bool = True) -> None:
        super().__init__()
        self.catalog = catalog or load_catalog()
        self.settings = load_settings()
        self.theme_name = theme or self.settings.get("theme", "dark")
        self.theme = apply_theme(QApplication.instance(), self.theme_name)
        self.document = FlowDocument(parent=self)
        # Modal questions go through here so tests can answer them.
        self.ask: Callable[[str, str, list[str]], str] = self._ask_dialog

        self.canvas = FlowCanvas(self.document, self.catalog, self)
        self.welcome = WelcomePage()
        self.central = QStackedWidget()
        self.central.addWidget(self.welcome)
        self.central.addWidget(self.canvas.widget)
        self.setCentralWidget(self.central)

        self.palette = Palette(self.catalog)
        self.context = EditorContext(connection_names=self._connection_names,
                                     manage_connections=self.show_connections,
                                     default_connection=lambda: self._run_connection(), parent=self)
        self.panel = PropertyPanel(self.document, self.catalog, self.context)
        self.run_panel = RunPanel()
        self.palette_dock = self._dock("Nodes", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.panel_dock = self._dock("Properties", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.run_dock = self._dock("Run", self.run_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.problems = ProblemsList()
        self.history_panel = HistoryPanel()
        self.chat_panel = ChatPanel()
        self.problems_dock = self._dock("Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.history_dock = self._dock("History", self.history_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.chat_dock = self._dock("Chat", self.chat_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.run_inputs = RunInputsForm()
        self.inputs_dock = self._dock("Inputs", self.run_inputs, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.run_dock, self.problems_dock)
        self.tabifyDockWidget(self.run_dock, self.history_dock)
        self.tabifyDockWidget(self.panel_dock, self.chat_dock)
        self.tabifyDockWidget(self.panel_dock, self.inputs_dock)
        self.run_dock.raise_()
        self.panel_dock.raise_()
        # Bytes of the file the document came from when that content would start a process or open
        # a port and was not made here; None once it is the user's own or trusted.
        self._trust_data: bytes | None = None
        self.resizeDocks([self.palette_dock, self.panel_dock], [250, 360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.run_dock], [240], Qt.Orientation.Vertical)

        self.runs = RunController(self.catalog, base_url=run_base_url, record_history=record_history, parent=self)
        self.runs.default_connection = self._run_connection
        self.origin_dir: Path | None = None  # folder of an example opened as a new flow
        self.runs.base_dir = lambda: None if self.document.path else self.origin_dir
        self.run_panel.inspector.on_decision = self.runs.decide
        self.runs.pinned_outputs = lambda flow: self.history_panel.history.pinned_outputs(flow.id)
        self.chat_panel.run = controller_runner(self.runs, lambda: self.document.path, before_start=self._before_chat_run)

        self._build_actions()
        # (the canvas menu puts Add node here, Paste here, Select all and Fit to view above these)
        self.canvas.set_context_actions([self.act_undo, self.act_redo, None, self.act_note, self.act_layout])
        self._build_menus()
        import_n8n.install(self)  # File > Import > n8n workflow…
        self._build_toolbar()
        self.status_label = QLabel("")
        self.statusBar().addWidget(self.status_label, 1)
        self.dirty_label = QLabel("")
        self.statusBar().addPermanentWidget(self.dirty_label)

        # wiring
        self.palette.activated.connect(lambda aid: (self._show_canvas(), self.canvas.add_action(aid)))
        self.canvas.selection_changed.connect(self._on_selection)
        self.canvas.message.connect(self.show_message)
        self.canvas.node_activated.connect(self.inspect_node)
        self.canvas.run_from_requested.connect(lambda nid: self.run_flow(start_at=nid))
        self.canvas.run_only_requested.connect(lambda nid: self.run_flow(only=nid))
        self.canvas.pin_requested.connect(self.pin_node_output)
        self.canvas.pin_info = self._pin_info
        self.document.changed.connect(self._update_title)
        self.document.path_changed.connect(self._update_title)
        self.document.node_added.connect(lambda _nid: self._show_canvas())
        self.runs.event.connect(self.run_panel.queue_event)
        self.runs.finished.connect(self._on_run_finished)
        self.runs.failed_to_start.connect(self._on_run_failed_to_start)
        self.runs.approval_decided.connect(self._on_decided)
        self.run_panel.node_status.connect(self.canvas.set_status)
        self.problems.node_selected.connect(self._select_node)
        self.history_panel.run_opened.connect(self.show_past_run)
        self.history_panel.rerun_requested.connect(lambda payload: self.run_flow(trigger_payload=payload))
        self.document.reset.connect(self._forget_trust_source)
        self.document.reset.connect(self.refresh_side_panels)
        self.document.reset.connect(self.run_panel.clear)  # New, Open: the last flow's run is not this one's
        self._side_timer = QTimer(self)
        self._side_timer.setSingleShot(True)
        self._side_timer.setInterval(300)
        self._side_timer.timeout.connect(self.refresh_side_panels)
        self.document.changed.connect(self._side_timer.start)
        self.welcome.open_example.connect(self._open_example)
        self.welcome.new_flow.connect(self.new_flow)
        self.welcome.open_file.connect(self.open_dialog)

        self.autosave_enabled = autosave
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self.document.changed.connect(self._schedule_autosave)

        install_tests_panel(self)
        self.resize(1440, 900)
        self._update_title()
        self._update_run_actions()

    # -- construction ------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "_dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Callable, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_flow, K.New)
        self.act_open = self._action("&Open…", self.open_dialog, K.Open)
        self.act_save = self._action("&Save", self.save, K.Save)
        self.act_save_as = self._action("Save &As…", self.save_as, K.SaveAs)
        self.act_import = self._action("&Import nodes from flow…", self.import_dialog,
                                       tip="Add the nodes of another flow file to this one")
        self.act_export = self._action("&Export flow…", self.export_dialog)
        self.act_export_bundle = self._action("Export &bundle (flow + example inputs)…", self.export_bundle_dialog)
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence(K.Undo))
        self.act_redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence(K.Redo))
        self.act_copy = self._action("&Copy", self.copy, K.Copy)
        self.act_paste = self._action("&Paste", self.paste, K.Paste)
        self.act_delete = self._action("&Delete", self.canvas.delete_selected, QKeySequence(Qt.Key.Key_Delete))
        self.act_select_all = self._action("Select &all", lambda: self.canvas.graph.select_all(), K.SelectAll)
        self.act_note = self._action("Add sticky &note", lambda: (self._show_canvas(), self.canvas.add_note("")), "Ctrl+Shift+N")
        self.act_layout = self._action("Auto-&layout", self.canvas.auto_layout, "Ctrl+L")
        self.act_quick_add = self._action("Add node…", lambda: (self._show_canvas(), self.canvas.show_quick_add()),
                                          "Ctrl+K", "Add a node by name (Tab on the canvas)")
        self.act_run = self._action("&Run", self.run_flow, "F5", "Run the whole flow (F5)")
        self.act_run_from = self._action("Run &from selected node", lambda: self.run_selected(from_here=True), "Shift+F6",
                                         "Run the selected node and everything after it, reusing earlier outputs")
        self.act_run_only = self._action("Run &only selected node", lambda: self.run_selected(from_here=False), "F6",
                                         "Run just the selected node with the last outputs of the nodes before it")
        self.act_stop = self._action("&Stop", self.runs.stop, "Shift+F5")
        self.act_connections = self._action("&Connections…", self.show_connections)
        self.act_dark = self._action("&Dark theme", lambda: self.set_theme("dark"))
        self.act_light = self._action("&Light theme", lambda: self.set_theme("light"))
        self.act_fit = self._action("&Fit flow in view", self.canvas.fit, "F")
        self.act_welcome = self._action("&Welcome page", lambda: self.central.setCurrentWidget(self.welcome))
        self.act_rename_flow = self._action("&Rename flow…", self.rename_flow_dialog,
                                            tip="Change the flow's name (what the file, its runs and exports show)")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        for a in (self.act_new, self.act_open):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &Recent")
        self._fill_recent()
        m.addSeparator()
        for a in (self.act_save, self.act_save_as):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_import, self.act_export, self.act_export_bundle):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_connections)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, None, self.act_copy, self.act_paste, self.act_delete, self.act_select_all,
                  None, self.act_quick_add, self.act_note, self.act_layout, None, self.canvas.act_find,
                  self.canvas.act_duplicate, self.canvas.act_rename, self.canvas.act_toggle_disabled):
            m.addSeparator() if a is None else m.addAction(a)
        m = bar.addMenu("F&low")
        m.addAction(self.act_rename_flow)
        m = bar.addMenu("&Run")
        for a in (self.act_run, self.act_run_from, self.act_run_only, self.act_stop):
            m.addAction(a)
        m = bar.addMenu("&View")
        for a in (self.act_dark, self.act_light, None, self.act_fit, self.canvas.act_zoom_in, self.canvas.act_zoom_out,
                  self.canvas.act_minimap, self.act_welcome):
            m.addSeparator() if a is None else m.addAction(a)
        m.addSeparator()
        for dock in (self.palette_dock, self.panel_dock, self.run_dock, self.problems_dock, self.history_dock,
                     self.chat_dock):
            m.addAction(dock.toggleViewAction())

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        for a in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                  self.act_quick_add, self.act_note, self.act_layout, None, self.act_run, self.act_stop):
            tb.addSeparator() if a is None else tb.addAction(a)
        tb.addSeparator()
        tb.addWidget(QLabel(" Run on: "))
        self.run_on = QComboBox()
        self.run_on.setToolTip("The connection for nodes whose Connection field is left at the default")
        self.run_on.setMinimumWidth(170)
        tb.addWidget(self.run_on)
        self._fill_run_on()
        self.run_on.currentIndexChanged.connect(lambda _i: self._run_on_changed())

    def _run_on_changed(self) -> None:
        """A node left at the default connection now runs elsewhere: its Model list follows."""
        node_id = self.panel.node_id
        if node_id and node_id in self.document.node_ids() and not self.document.node(node_id).values.get("connection"):
            self.context.select_connection("")

    def _fill_run_on(self) -> None:
        from .connections import connection_names

        current = self.run_on.currentData()
        self.run_on.clear()
        names = connection_names()
        simulated = names[-1]
        import os

        has_default = bool(os.environ.get("OPENAI_API_KEY")) or any(n for n in names[:-1])
        if has_default:
            self.run_on.addItem(DEFAULT_RUN_CONNECTION, "")
        for name in names:
            self.run_on.addItem(name, name)
        index = self.run_on.findData(current) if current is not None else -1
        self.run_on.setCurrentIndex(index if index >= 0 else (0 if has_default else self.run_on.findData(simulated)))

    def _run_connection(self) -> str | None:
        return self.run_on.currentData() or None

    def _connection_names(self) -> list[str]:
        from .connections import connection_names

        return connection_names()

    # -- helpers -------------------------------------------------------------------------------

    def _ask_dialog(self, title: str, text: str, buttons: list[str]) -> str:
        box = QMessageBox(self)
        box.setWindowTitle(title)
        box.setText(text)
        made = {box.addButton(b, QMessageBox.ButtonRole.ActionRole): b for b in buttons}
        box.exec()
        return made.get(box.clickedButton(), buttons[-1])

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _show_canvas(self) -> None:
        self.central.setCurrentWidget(self.canvas.widget)

    def rename_flow_dialog(self) -> bool:
        """Flow > Rename flow…: one undoable edit of the flow's name."""
        from qtpy.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "Rename flow", "Flow name:", text=self.document.flow.name)
        return ok and self.rename_flow(name)

    def rename_flow(self, name: str) -> bool:
        name = " ".join(str(name).split())
        if not name:
            self.show_message("A flow needs a name.")
            return False
        if name == self.document.flow.name:
            return False
        self.document.set_flow_name(name)
        self.show_message(f"Flow renamed to {name}")
        return True

    def _update_title(self) -> None:
        name = self.document.path.name if self.document.path else self.document.flow.name
        dirty = self.document.dirty
        self.setWindowTitle(f"{name}[*] — Flow Studio")
        self.setWindowModified(dirty)
        self.dirty_label.setText("Unsaved changes" if dirty else "Saved" if self.document.path else "")
        self.status_label.setText(f"{len(self.document.flow.nodes)} nodes · {len(self.document.flow.wires)} wires")

    def _on_selection(self, ids: list[str]) -> None:
        self.panel.show_node(ids[0] if len(ids) == 1 else None)
        if len(ids) == 1:
            self.run_panel.show_node(ids[0], self.document.node(ids[0]).name)
        self._update_run_actions()

    def _update_run_actions(self) -> None:
        running = self.runs.running
        one = len(self.canvas.selected_ids()) == 1
        self.act_run.setEnabled(not running)
        self.act_run_from.setEnabled(not running and one)
        self.act_run_only.setEnabled(not running and one)
        self.act_stop.setEnabled(running)

    # -- files ------------------------------------------------------------------------------------

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded, or clean)."""
        if not self.document.dirty:
            return True
        answer = self.ask("Unsaved changes", f"Save changes to {self.document.flow.name}?", ["Save", "Discard", "Cancel"])
        if answer == "Save":
            return self.save()
        return answer == "Discard"

    def new_flow(self) -> None:
        if not self.maybe_save():
            return
        self._drop_recovery()
        self.origin_dir = None
        self.document.load(Flow())
        self.canvas.clear_statuses()
        self._show_canvas()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open flow", self._last_dir(), FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, *, ask_to_save: bool = True) -> bool:
        from studio.flow.io import FlowLoadError, load_flow

        if ask_to_save and not self.maybe_save():
            return False
        path = Path(path)
        try:
            # Half-built flows (no trigger yet, a loop) open too; their problems are listed.
            flow = load_flow(path, self.catalog, validate=False)
            data = path.read_bytes()
            self.origin_dir = None
        except FlowLoadError as exc:
            self.ask("Cannot open flow", str(exc), ["OK"])
            self.show_message(str(exc).splitlines()[0])
            return False
        except OSError as exc:
            self.ask("Cannot open flow", f"{path}: {exc}", ["OK"])
            return False
        self._drop_recovery()
        example = self._is_example(path)
        # A bundled example opens as a new, unsaved copy (by any route: Open, Open Recent, the
        # command line), so Save never overwrites it; its data files stay reachable.
        self.document.load(flow, None if example else path)
        if example:
            self.origin_dir = path.resolve().parent
        self._set_trust_source(flow, data)
        self.canvas.clear_statuses()
        self.runs.last_outputs.clear()
        self._show_canvas()
        QTimer.singleShot(0, self.canvas.fit)
        if not example:
            self._add_recent(path)
        problems = self.refresh_side_panels()
        if problems:
            self.problems_dock.show()
            self.problems_dock.raise_()
            self.show_message(f"Opened {path} — {len(problems)} problem(s) to fix before it can run")
        else:
            self.show_message(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.document.path is None or self._is_example(self.document.path):
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self) -> bool:
        suggested = str(self._save_dir() / (self._slug(self.document.flow.name) + ".flow.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Save flow", suggested, FILE_FILTER)
        if not path:
            return False
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        from studio.flow.io import save_flow

        path = Path(path)
        if not path.name.endswith(".json"):
            path = path.with_name(path.name + ".flow.json")
        flow = self.document.flow
        carried = self._bundled_files() if self.document.path is None else []  # e.g. an example's data
        try:
            flow.version += 1
            save_flow(flow, path)
            copied = self._carry_files(carried, path.parent)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions ...
            flow.version -= 1
            self.ask("Cannot save", f"{path}: {exc}", ["OK"])
            return False
        self.origin_dir = None
        self.document.mark_saved(path)
        self._remember_own(path)
        self._drop_recovery()
        self._add_recent(path)
        self.show_message(f"Saved {path}" + (f" with {len(copied)} data file(s) it reads" if copied else ""))
        return True

    @staticmethod
    def _carry_files(files: list[tuple[str, Path]], folder: Path) -> list[Path]:
        """Copy the files a flow reads by relative path next to its new location (never over an
        existing file), so a flow first saved elsewhere still finds them."""
        import shutil

        copied = []
        for relative, source in files:
            target = folder / relative
            if target.exists() or target.resolve() == source:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied.append(target)
        return copied

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import nodes from flow", self._last_dir(), FILE_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str | Path) -> list[str]:
        """Add another flow's nodes, wires and notes to this one (new ids, names kept unique)."""
        from studio.flow.io import FlowLoadError, load_flow

        try:
            other = load_flow(path, self.catalog)
            data = Path(path).read_bytes()
        except (FlowLoadError, OSError) as exc:
            self.ask("Cannot import", str(exc), ["OK"])
            return []
        self._set_trust_source(other, data, add=True)
        mapping = {n.id: new_id() for n in other.nodes}
        taken = {n.name for n in self.document.flow.nodes}
        offset = max((n.position.y for n in self.document.flow.nodes), default=-200) + 200
        nodes: list[Node] = []
        for n in other.nodes:
            copy = n.model_copy(deep=True)
            copy.id = mapping[n.id]
            name = n.name
            i = 2
            while name in taken:
                name = f"{n.name} {i}"
                i += 1
            taken.add(name)
            copy.name = name
            copy.position = Position(x=n.position.x, y=n.position.y + offset)
            nodes.append(copy)
        from studio.flow.models import Endpoint, Wire

        wires = [Wire(source=Endpoint(node=mapping[w.source.node], port=w.source.port),
                      target=Endpoint(node=mapping[w.target.node], port=w.target.port)) for w in other.wires]
        notes = []
        for note in other.notes:
            c = note.model_copy(deep=True)
            c.id = new_id()
            c.position = Position(x=note.position.x, y=note.position.y + offset)
            notes.append(c)
        self.document.add_nodes(nodes, wires, notes, text=f"Import {Path(path).name}")
        self._show_canvas()
        return [n.id for n in nodes]

    def export_dialog(self) -> bool:
        from studio.flow.io import save_flow

        suggested = str(self._save_dir() / (self._slug(self.document.flow.name) + ".flow.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Export flow", suggested, FILE_FILTER)
        if not path:
            return False
        try:
            save_flow(self.document.flow, path)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions ...: said, not swallowed
            log.warning("export failed", exc_info=True)
            self.ask("Cannot export", f"{path}: {exc}", ["OK"])
            return False
        self.show_message(f"Exported {path}")
        return True

    def export_bundle_dialog(self) -> bool:
        suggested = str(self._save_dir() / (self._slug(self.document.flow.name) + ".zip"))
        path, _ = QFileDialog.getSaveFileName(self, "Export bundle", suggested, "Zip files (*.zip)")
        if not path:
            return False
        try:
            self.export_bundle(path)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions ...: said, not swallowed
            log.warning("export failed", exc_info=True)
            self.ask("Cannot export bundle", f"{path}: {exc}", ["OK"])
            return False
        return True

    def export_bundle(self, path: str | Path) -> Path:
        """A zip with the flow, its example inputs and how to run it headless."""
        from studio.flow.io import dump_flow

        path = Path(path)
        slug = self._slug(self.document.flow.name)
        inputs = self.document.flow.settings.get("example_inputs") or {}
        self.run_inputs.set_flow(self.document.flow)
        if self.run_inputs.editors:  # what the Inputs tab holds now is the example to ship
            inputs = {**(inputs if isinstance(inputs, dict) else {}), **self.run_inputs.payload()}
        args = " ".join(f"--input {k}={json.dumps(v)!r}" for k, v in inputs.items()) if isinstance(inputs, dict) else ""
        readme = (f"{self.document.flow.name}\n\n{self.document.flow.description}\n\n"
                  f"Run it headless:\n  studio run {slug}.flow.json {args}\n\n"
                  "Connections are named, never stored: set OPENAI_API_KEY or save a connection in the editor.\n")
        z = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        try:
            with z:
                z.writestr(f"{slug}/{slug}.flow.json", dump_flow(self.document.flow))
                z.writestr(f"{slug}/inputs.json", json.dumps(inputs, indent=2))
                z.writestr(f"{slug}/README.txt", readme)
                for relative, source in self._bundled_files():
                    z.write(source, f"{slug}/{relative}")
        except BaseException:
            path.unlink(missing_ok=True)  # no half-written zip left behind
            raise
        self.show_message(f"Exported bundle {path}")
        return path

    def _bundled_files(self) -> list[tuple[str, Path]]:
        """Files the flow names by a relative path (File inputs) that exist beside it, so the
        bundle runs elsewhere; anything outside the flow's folder is left out."""
        from studio.catalog.models import ValueType

        base = self.document.path.parent if self.document.path else self.origin_dir
        if base is None:
            return []
        base = base.resolve()
        found: dict[str, Path] = {}
        for node in self.document.flow.nodes:
            action = self.catalog.get(node.action) if node.action in self.catalog else None
            for spec in action.inputs if action else []:
                value = node.values.get(spec.key)
                if spec.type != ValueType.FILE or not isinstance(value, str) or "{{" in value:
                    continue
                candidate = (base / value).resolve()
                if not Path(value).is_absolute() and candidate.is_file() and candidate.is_relative_to(base):
                    found[candidate.relative_to(base).as_posix()] = candidate
        return sorted(found.items())

    @staticmethod
    def _slug(name: str) -> str:
        return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "flow"

    def _last_dir(self) -> str:
        recent = [p for p in self.settings.get("recent", []) if not self._is_example(p)]
        return str(Path(recent[0]).parent) if recent else str(documents_dir())

    def _save_dir(self) -> Path:
        """Where Save As and Export start: the flow's own folder, else the user's documents
        folder (never the bundled examples)."""
        path = self.document.path
        if path is not None and not self._is_example(path):
            return Path(path).resolve().parent
        return documents_dir()

    @staticmethod
    def _is_example(path: str | Path) -> bool:
        """True for a file in the bundled examples folder (read-only to the editor)."""
        from studio import resources

        try:
            return Path(path).resolve().is_relative_to(resources.examples_dir().resolve())
        except (OSError, ValueError):
            return False

    def _add_recent(self, path: Path) -> None:
        recent = [str(Path(path).resolve())] + [p for p in self.settings.get("recent", []) if p != str(Path(path).resolve())]
        self.settings["recent"] = recent[:MAX_RECENT]
        save_settings(self.settings)
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.get("recent", [])
        for p in recent:
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.open_file(p))
        self.recent_menu.setEnabled(bool(recent))

    def _open_example(self, path: str, run: bool) -> None:
        """Examples open as new, unsaved flows so the bundled file is never overwritten."""
        if not self.open_file(path):
            return
        if self.document.path is not None:  # an example from somewhere else than the bundle
            self.document.path = None
            self.origin_dir = Path(path).resolve().parent  # its data files stay reachable
            self.document.path_changed.emit()
        if run:
            index = self.run_on.findData(self._simulated_name())
            if index >= 0:
                self.run_on.setCurrentIndex(index)
            self.run_flow()

    @staticmethod
    def _simulated_name() -> str:
        from studio.credentials import SIMULATED

        return SIMULATED

    # -- edit -------------------------------------------------------------------------------------

    def copy(self) -> None:
        if self.canvas.copy_selected():
            self.show_message(f"Copied {len(self.canvas.selected_ids())} node(s)")

    def paste(self) -> None:
        self._show_canvas()
        pasted = self.canvas.paste()
        if pasted:
            self.show_message(f"Pasted {len(pasted)} node(s)")

    # -- runs --------------------------------------------------------------------------------------

    def run_flow(self, start_at: str | None = None, only: str | None = None, trigger_payload: Any = None) -> bool:
        for f in self.panel.fields.values():  # a field still being typed in counts
            if f.editor.has_pending_edit():
                f.editor.commit()
        if not self.document.flow.nodes:
            self.show_message("Nothing to run: add a trigger and some nodes first.")
            return False
        if not self._ready_to_run():
            return False
        if trigger_payload is None and start_at is None and only is None:
            self.run_inputs.set_flow(self.document.flow)  # the fields as they are now
            if self.run_inputs.editors:
                trigger_payload = self.run_inputs.payload()
                if self.run_inputs.errors:
                    self.inputs_dock.show()
                    self.inputs_dock.raise_()
                    self.show_message("Not run: " + "; ".join(self.run_inputs.errors.values()))
                    return False
        if not self.runs.running and not self.check_trust():
            self.show_message("Not run: the flow was not trusted to start things on this computer.")
            return False
        self.canvas.clear_statuses()
        self.run_panel.reset()
        self.run_dock.show()
        self.run_dock.raise_()
        ok = self.runs.start(self.document.flow, flow_path=self.document.path, start_at=start_at, only=only,
                             trigger_payload=trigger_payload)
        self._update_run_actions()
        if ok:
            self.show_message("Running…" + (f" (on {self._run_connection()})" if self._run_connection() else ""))
        return ok

    def _ready_to_run(self) -> bool:
        """False, with the Problems panel shown, while the flow has errors (warnings do not
        stop a run): Problems says the flow will not run until they are fixed, so it does not."""
        problems = self.problems.validate(self.document.flow, self.catalog, self.document)
        errors = [p for p in problems if getattr(p, "severity", "error") != "warning"]
        if not errors:
            return True
        self.problems_dock.show()
        self.problems_dock.raise_()
        self.show_message(f"Not run: {len(errors)} problem{'s' if len(errors) != 1 else ''} to fix first "
                          f"(see Problems): {errors[0]}")
        return False

    def run_selected(self, from_here: bool) -> bool:
        ids = self.canvas.selected_ids()
        if len(ids) != 1:
            self.show_message("Select one node first.")
            return False
        return self.run_flow(start_at=ids[0]) if from_here else self.run_flow(only=ids[0])

    def _on_run_finished(self, result: Any) -> None:
        from .run_panel import preview_from_output

        self.run_panel.on_finished(result)
        for nid, node in result.nodes.items():
            if node.status == "succeeded":
                self.canvas.set_status(nid, node.status, preview_from_output(node.output))
        self._update_run_actions()
        if self.runs.record_history:
            self.history_panel.apply_retention()
            self.refresh_side_panels()
            self.history_panel.refresh()
        msg = f"Run {result.status} in {result.duration_ms / 1000:.2f} s"
        if result.error:
            msg += f": {result.error.get('message', '')}"
        self.show_message(msg, 15000)

    def _on_run_failed_to_start(self, message: str) -> None:
        self.run_panel.summary.setText(f"Could not start: {message}")
        self.show_message(message)
        self._update_run_actions()

    def _on_decided(self, node_id: str, request_id: str, approved: bool) -> None:
        verb = "Approved" if approved else "Rejected"
        if self.runs.running:
            self.show_message(f"{verb}; resuming the run…")
        else:
            self.show_message(f"{verb}. The run continues once every request of this node has an answer.")

    def _node_output(self, node_id: str) -> tuple[bool, Any]:
        """(has one, output) of a node's last successful run: this session's, or a past run shown."""
        if node_id in self.runs.last_outputs:
            return True, self.runs.last_outputs[node_id]
        state = self.run_panel.nodes.get(node_id) or {}
        return state.get("status") == "succeeded", state.get("output")

    def _pin_info(self, node_id: str) -> tuple[bool, bool]:
        if self.history_panel.flow_id != self.document.flow.id:
            self.refresh_side_panels()
        return node_id in self.history_panel.pinned(), self._node_output(node_id)[0]

    def pin_node_output(self, node_id: str, pin: bool = True) -> bool:
        """The canvas's Pin output / Unpin: the same pins as the History tab's buttons."""
        if self.history_panel.flow_id != self.document.flow.id:
            self.refresh_side_panels()
        name = self.document.node(node_id).name
        if not pin:
            done = self.history_panel.unpin(node_id)
            if done:
                self.show_message(f"Unpinned {name}: later runs run it again")
            return done
        has, output = self._node_output(node_id)
        if not has:
            self.show_message(f"{name} has no output to pin yet: run it first.")
            return False
        self.history_panel.history.pin_output(self.document.flow.id, node_id, output)
        self.history_panel.refresh()
        self.history_panel.pins_changed.emit(self.history_panel.pinned())
        self.show_message(f"Pinned the output of {name}: later runs reuse it")
        return True

    def inspect_node(self, node_id: str) -> None:
        self.run_dock.show()
        self.run_panel.show_node(node_id, self.document.node(node_id).name)

    # -- connections, theme --------------------------------------------------------------------------

    def show_connections(self) -> None:
        from .connections import ConnectionsDialog

        dialog = ConnectionsDialog(parent=self)
        dialog.changed.connect(self._connections_changed)
        dialog.exec()

    def _connections_changed(self) -> None:
        self.context.model_source.forget()
        self.context.connections_changed.emit()
        self._fill_run_on()

    def set_theme(self, name: str) -> None:
        self.theme = apply_theme(QApplication.instance(), name)
        self.theme_name = name
        self.canvas.apply_theme(self.theme)
        self.settings["theme"] = name
        save_settings(self.settings)

    # -- autosave and recovery ------------------------------------------------------------------------

    def _recovery_path(self) -> Path:
        return recovery_dir() / f"{self.document.flow.id}.flow.json"

    def _schedule_autosave(self) -> None:
        if self.autosave_enabled and self.document.dirty:
            self._autosave_timer.start()

    def autosave(self) -> Path | None:
        """Write the unsaved document to the recovery folder (not the user's file)."""
        if not self.document.dirty:
            return None
        from studio.flow.io import dump_flow

        path = self._recovery_path()
        meta = {"path": str(self.document.path) if self.document.path else None, "saved_at": time.time()}
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(dump_flow(self.document.flow), encoding="utf-8")
            tmp.replace(path)
            path.with_suffix(".meta").write_text(json.dumps(meta), encoding="utf-8")
        except OSError:
            log.warning("autosave failed", exc_info=True)
            return None
        return path

    def _drop_recovery(self) -> None:
        for suffix in (".json", ".meta"):
            p = self._recovery_path()
            p = p if suffix == ".json" else p.with_suffix(".meta")
            try:
                p.unlink()
            except OSError:
                pass

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest recovery file; True when one was restored."""
        from studio.flow.io import FlowLoadError, parse_flow

        files = sorted(recovery_dir().glob("*.flow.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        if not files:
            return False
        newest = files[0]
        try:
            meta = json.loads(newest.with_suffix(".meta").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.stat().st_mtime))
        answer = self.ask("Restore unsaved work?",
                          f"Flow Studio closed with unsaved changes ({when}). Restore them?",
                          ["Restore", "Discard"])
        if answer != "Restore":
            for f in files:
                f.unlink(missing_ok=True)
                f.with_suffix(".meta").unlink(missing_ok=True)
            return False
        try:
            data = newest.read_bytes()
            flow = parse_flow(data, str(newest), self.catalog, validate=False)
        except (FlowLoadError, OSError) as exc:
            self.ask("Cannot restore", str(exc), ["OK"])
            return False
        original = Path(meta["path"]) if meta.get("path") else None
        self.document.load(flow, original)
        self._set_trust_source(flow, data)
        self.refresh_side_panels()
        self.document.undo_stack.resetClean()  # restored work is unsaved until the user saves it
        self._update_title()
        self._show_canvas()
        return True

    # -- problems, history, chat, trust -----------------------------------------------------------------

    def refresh_side_panels(self) -> list[Any]:
        """Problems, chat and history follow the document; returns the current problems."""
        self._side_timer.stop()
        flow = self.document.flow
        problems = self.problems.validate(flow, self.catalog, self.document) if flow.nodes else []
        if not flow.nodes:
            self.problems.set_problems([], flow)
        self.chat_panel.set_flow(flow)
        self.run_inputs.set_flow(flow)
        names = {n.id: n.name for n in flow.nodes}
        if self.history_panel.flow_id != flow.id:
            self.history_panel.set_flow(flow.id, names)
        else:
            self.history_panel.node_names = names
        return problems

    def _select_node(self, node_id: str) -> None:
        if node_id in self.document.node_ids():
            self._show_canvas()
            self.canvas.select([node_id])

    def show_past_run(self, run: Any) -> None:
        """A recorded run on the canvas: badges and previews, and its outputs in the inspector."""
        from .run_panel import preview_from_output

        self._show_canvas()
        self.canvas.clear_statuses()
        self.run_panel.reset()
        known = set(self.document.node_ids())
        for node in run.nodes:
            self.run_panel.nodes[node.node_id] = {"name": node.node_name, "status": node.status, "output": node.output,
                                                  "error": node.error, "usage": node.usage}
            if node.node_id in known:
                error = node.error.get("message") if isinstance(node.error, dict) else node.error
                preview = preview_from_output(node.output) if node.status == "succeeded" else error
                self.canvas.set_status(node.node_id, node.status, preview)
        if run.status == "waiting":
            self._adopt_waiting_run(run)
        self.run_panel.run_status = run.status
        total = (run.usage or {}).get("total_tokens")
        self.run_panel.tokens = total if isinstance(total, int) else 0
        duration = (run.finished_at - run.started_at) * 1000 if run.finished_at else None
        self.run_panel._summarise(duration_ms=duration)
        self.run_panel.refresh()  # the inspected node as it was in that run
        self.run_dock.show()
        self.show_message(f"Showing the {run.trigger} run of "
                          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.started_at))} ({run.status})")

    def _adopt_waiting_run(self, run: Any) -> None:
        """A past run that waits for approval: its cards can still continue it (the record the
        run kept on disk holds the agent's state)."""
        from studio.runs.records import load_run_record

        record = load_run_record(run.run_id)
        if not record or self.runs.running:
            return
        path = Path(record["flow_path"]) if record.get("flow_path") else None
        for entry in self.runs.adopt_waiting(record, self.document.flow, self.document.path or path):
            state = self.run_panel.nodes.setdefault(entry["node_id"], {"name": entry.get("node_name"), "usage": {}})
            state["status"] = "waiting"
            state["waiting"] = entry.get("requests") or []
            self.canvas.set_status(entry["node_id"], "waiting", f"{len(state['waiting'])} approval(s) pending")

    def _forget_trust_source(self) -> None:
        self._trust_data = None

    def _set_trust_source(self, flow: Flow, data: bytes, add: bool = False) -> None:
        """Remember where content that would start something came from; content that starts
        nothing needs no trust, so later additions by the user are theirs."""
        from studio.flow.capabilities import needs_trust

        if not needs_trust(flow, self.catalog, self._flow_dir()):
            if not add:
                self._trust_data = None
            return
        self._trust_data = data if not add or self._trust_data is None else self._trust_data + b"\n" + data

    def check_trust(self) -> bool:
        """Before a run: asks once about an imported flow that starts a process or opens a port."""
        if self._trust_data is None:
            return True
        if ensure_trusted(self, self.document.flow, self._trust_data, catalog=self.catalog,
                          flow_dir=self._flow_dir()):
            self._trust_data = None
            return True
        return False

    def _flow_dir(self) -> Path | None:
        """The folder the flow's relative paths are read from (its file's, or an example's)."""
        if self.document.path is not None:
            return Path(self.document.path).resolve().parent
        base = self.runs.base_dir() if self.runs.base_dir is not None else None
        return Path(base).resolve() if base is not None else None

    def _before_chat_run(self, flow: Flow) -> bool:
        if not self.check_trust():
            return False
        self.canvas.clear_statuses()
        self.run_panel.reset()
        return True

    def _remember_own(self, path: Path) -> None:
        """A file saved here is the user's own, unless it still holds untrusted imported content."""
        from studio.credentials.trust import TrustStore

        try:
            store = TrustStore()
            if self._trust_data is None or store.is_trusted(self._trust_data):
                store.remember_own(path.read_bytes())
                self._trust_data = None
        except OSError:
            log.warning("could not remember the saved flow as this machine's own", exc_info=True)

    # -- closing ----------------------------------------------------------------------------------------

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if not self.maybe_save():
            event.ignore()
            return
        if self.runs.running:
            self.runs.stop()
        self._drop_recovery()
        save_settings(self.settings)
        event.accept()

    def centre_point(self) -> QPoint:
        return self.canvas.viewer.viewport().rect().center()
