"""The main window: canvas in the centre, palette (left), property panel (right), run panel
(bottom), toolbar, menus and status bar. It wires the views to one FlowDocument and one
RunController; it holds no flow state of its own."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QPoint, Qt, QTimer
from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
)

from studio.catalog import load_catalog
from studio.catalog.catalog import Catalog

from .bridge import RunController
from .canvas import FlowCanvas
from .chat_panel import ChatPanel, controller_runner
from . import import_n8n
from .document import FlowDocument
from .editor_settings import documents_dir, load_settings, recovery_dir, save_settings
from .field_drag import JsonTreeDrag
from .history_panel import HistoryPanel
from .palette import Palette
from .panel.property_panel import PropertyPanel
from .panel.widgets import EditorContext
from .problems import ProblemsList
from .run_inputs import RunInputsForm
from .run_panel import RunPanel
from .tests_panel import install_tests_panel
from .theme import apply_theme
from .welcome import WelcomePage
from .window_files import FilesMixin
from .window_layout import LAYOUT_VERSION, LayoutMixin, plain_text
from .window_recovery import AUTOSAVE_MS, RecoveryMixin
from .window_runs import RunsMixin
from .window_trust import TrustMixin

log = logging.getLogger(__name__)

__all__ = ["MainWindow", "documents_dir", "recovery_dir"]

DEFAULT_RUN_CONNECTION = "Default connection"


class MainWindow(FilesMixin, RunsMixin, RecoveryMixin, TrustMixin, LayoutMixin, QMainWindow):
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
        # A long node name in the inspector's header is cut, never pushing Copy JSON out of view.
        self.run_panel.inspector.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.tree_drag = JsonTreeDrag(self.run_panel.inspector.json_tree, self._inspected_name,
                                      lambda: self.panel.fields.values())
        self.docks: list[QDockWidget] = []
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

        self.runs = RunController(self.catalog, base_url=run_base_url, record_history=record_history, parent=self)
        self.runs.default_connection = self._run_connection
        self.origin_dir: Path | None = None  # folder of an example opened as a new flow
        self.runs.base_dir = lambda: None if self.document.path else self.origin_dir
        self.run_panel.inspector.on_decision = self.runs.decide
        self.runs.pinned_outputs = lambda flow: self.history_panel.history.pinned_outputs(flow.id)
        self.chat_panel.run = controller_runner(self.runs, lambda: self.document.path, before_start=self._before_chat_run)

        self._build_actions()
        # (the canvas menu puts Add node here, Paste here, Select all and Fit to view above these)
        self.canvas.set_context_actions([self.act_undo, self.act_redo, None, self.act_note, self.canvas.act_group,
                                         self.act_layout])
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
        self.fit_to_screen()
        self._default_layout = self.saveState(LAYOUT_VERSION)
        self.restore_layout()
        self._update_title()
        self._update_run_actions()

    # -- construction ------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or plain_text(text))
        action.setStatusTip(tip or plain_text(text))
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
        self.act_reset_layout = self._action("&Reset layout", self.reset_layout,
                                             tip="Put every panel back where it was on first start")
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
                  None, self.act_quick_add, self.act_note, self.canvas.act_group, self.act_layout, None, self.canvas.act_find,
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
        m.addAction(self.act_reset_layout)
        m.addSeparator()
        self.add_dock_toggles(m)

    def _toolbar_undo(self) -> None:
        """Undo and Redo for the toolbar: fixed labels (the buttons keep their width), what they
        would undo in the tooltip and status tip."""
        stack = self.document.undo_stack
        self.tb_undo = self._action("Undo", stack.undo)
        self.tb_redo = self._action("Redo", stack.redo)
        for action, can, text_changed, verb, keys in (
                (self.tb_undo, stack.canUndoChanged, stack.undoTextChanged, "Undo", "Ctrl+Z"),
                (self.tb_redo, stack.canRedoChanged, stack.redoTextChanged, "Redo", "Ctrl+Shift+Z")):
            def follow(text: str, action: QAction = action, verb: str = verb, keys: str = keys) -> None:
                tip = f"{verb} {text} ({keys})" if text else f"Nothing to {verb.lower()}"
                action.setToolTip(tip)
                action.setStatusTip(tip)
            can.connect(action.setEnabled)
            text_changed.connect(follow)
            action.setEnabled(False)
            follow("")

    def _build_toolbar(self) -> None:
        self._toolbar_undo()
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        for a in (self.act_new, self.act_open, self.act_save, None, self.tb_undo, self.tb_redo, None,
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

    def _inspected_name(self) -> str | None:
        """The name of the node the inspector shows (what a field dragged from it refers to)."""
        nid = self.run_panel.current
        if nid and nid in self.document.node_ids():
            return self.document.node(nid).name
        return self.run_panel.current_name

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

    # -- edit -------------------------------------------------------------------------------------

    def copy(self) -> None:
        if self.canvas.copy_selected():
            self.show_message(f"Copied {len(self.canvas.selected_ids())} node(s)")

    def paste(self) -> None:
        self._show_canvas()
        pasted = self.canvas.paste()
        if pasted:
            self.show_message(f"Pasted {len(pasted)} node(s)")

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

    # -- problems, history, chat ---------------------------------------------------------------------

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

    # -- closing ----------------------------------------------------------------------------------------

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if not self.maybe_save():
            event.ignore()
            return
        if self.runs.running:
            self.runs.stop()
        self._drop_recovery()
        self.save_layout()
        save_settings(self.settings)
        event.accept()

    def centre_point(self) -> QPoint:
        return self.canvas.viewer.viewport().rect().center()
