"""The Tests tab: the flow's stored tests, run one or all (replayed offline from their cassettes,
as `studio test` does), re-record a cassette, and read why a test failed, with its failing node
highlighted on the canvas. "Save as test" in History lands here: the past run's payload becomes a
new test whose cassette is recorded and whose expectations come from that recording.

Tests run on a worker thread with its own event loop, so the editor stays responsive; results come
back through a queued signal."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QAction
from qtpy.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.catalog import load_catalog
from studio.flow.cases import Assertion
from studio.flow.io import dump_flow
from studio.testing.report import failure_lines
from studio.testing.runner import FlowFile, TestOutcome, run_many

from .assertion_editor import AssertionsEditor, json_path_of
from .panel.widgets import EditorContext

COLUMNS = ["Test", "Mode", "Assertions", "Result"]


class TestsPanel(QWidget):
    """Stored tests of the document's flow and their last results."""

    __test__ = False  # not a pytest class, whatever its name

    finished = Signal(list)  # [TestOutcome], on the GUI thread
    saved = Signal(object, object)  # (FlowTest, TestOutcome) of "Save as test", on the GUI thread
    _done = Signal(object, object)  # (callback, value) from the worker thread

    def __init__(self, document: Any, catalog: Any = None, context: EditorContext | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.results: dict[str, TestOutcome] = {}
        self.busy = False
        # Set by install_tests_panel (the window's run settings); tests may replace them.
        self.base_url: Callable[[], str | None] = lambda: None
        self.connection: Callable[[], str | None] = lambda: None
        self.trust: Callable[[], bool] = lambda: False
        self.highlight: Callable[[list[str]], None] = lambda names: None
        self.ask_name: Callable[[str], str | None] = self._ask_name_dialog

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel("")
        layout.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 220)
        self.tree.itemSelectionChanged.connect(self._show_selected)
        self.tree.itemDoubleClicked.connect(lambda _i, _c: self.run_selected())
        split.addWidget(self.tree)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Run a test to see its result here.")
        self.assertions = AssertionsEditor(catalog or load_catalog(), context or EditorContext(parent=self))
        self.assertions.changed.connect(self._assertions_edited)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.details, "Result")
        self.tabs.addTab(self.assertions, "Assertions")
        split.addWidget(self.tabs)
        layout.addWidget(split, 1)

        row = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Replay the selected test offline from its cassette")
        self.run_button.clicked.connect(self.run_selected)
        self.run_all_button = QPushButton("Run all")
        self.run_all_button.clicked.connect(self.run_all)
        self.record_button = QPushButton("Re-record")
        self.record_button.setToolTip("Run the selected test for real (Run on's connection) and rewrite its cassette")
        self.record_button.clicked.connect(lambda: self.run_selected(record=True))
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        for button in (self.run_button, self.run_all_button, self.record_button, self.delete_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self._done.connect(lambda callback, value: callback(value))
        self.refresh()

    # -- data ---------------------------------------------------------------------------------------

    def tests(self) -> list[Any]:
        return list(self.document.flow.tests)

    def test(self, name: str | None) -> Any:
        return next((t for t in self.tests() if t.name == name), None) if name else None

    def _assertions_edited(self, items: list[Assertion]) -> None:
        name = self.selected_name()
        if self.test(name) is None:
            return
        self.document.set_tests([t.model_copy(update={"assertions": list(items)}) if t.name == name else t
                                 for t in self.tests()], text="Edit assertions")

    def assert_value(self, node: str, path: str, value: Any) -> bool:
        """"Assert this value" from the output inspector: an `equals` on the selected test (or the
        only one). False, with the reason shown, when there is no test to add it to."""
        tests = self.tests()
        name = self.selected_name() or (tests[0].name if len(tests) == 1 else None)
        if self.test(name) is None:
            self.details.setPlainText("Select a test in the Tests tab first (no test yet: History, Save as test).")
            self.tabs.setCurrentWidget(self.details)
            return False
        self.select(name)
        self.assertions.set_items(list(self.test(name).assertions), [n.name for n in self.document.flow.nodes])
        self.assertions.add(Assertion(kind="equals", node=node, path=path, values={"expected": value}))
        self.tabs.setCurrentWidget(self.assertions)
        return True

    def refresh(self) -> None:
        selected = self.selected_name()
        self.tree.blockSignals(True)  # no passing "nothing selected" while the list is rebuilt
        self.tree.clear()
        names = set()
        for test in self.tests():
            names.add(test.name)
            outcome = self.results.get(test.name)
            item = QTreeWidgetItem([test.name, test.mode, str(len(test.assertions)),
                                    outcome.status if outcome else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, test.name)
            if test.description:
                item.setToolTip(0, test.description)
            self.tree.addTopLevelItem(item)
            if test.name == selected:
                item.setSelected(True)
        self.tree.blockSignals(False)
        self.results = {k: v for k, v in self.results.items() if k in names}
        count = len(names)
        passed = sum(o.status == "passed" for o in self.results.values())
        self.summary.setText("No tests yet: use Save as test on a run in History." if not count else
                             f"{count} test(s)" + (f" · {passed} of {len(self.results)} passed" if self.results else ""))
        self._update_buttons()
        self._show_selected()

    def selected_name(self) -> str | None:
        items = self.tree.selectedItems() if hasattr(self, "tree") else []
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select(self, name: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                self.tree.clearSelection()
                item.setSelected(True)
                return True
        return False

    def _update_buttons(self) -> None:
        one = self.selected_name() is not None
        for button in (self.run_button, self.record_button, self.delete_button):
            button.setEnabled(one and not self.busy)
        self.run_all_button.setEnabled(bool(self.tests()) and not self.busy)

    def _show_selected(self) -> None:
        self._update_buttons()
        name = self.selected_name()
        test = self.test(name)
        items = list(test.assertions) if test is not None else None
        # Reloading the form while its own edit comes back would drop what is being typed.
        if items is None or items != self.assertions.items or name != getattr(self, "_editing", None):
            self.assertions.set_items(items, [n.name for n in self.document.flow.nodes])
        self._editing = name
        outcome = self.results.get(name) if name else None
        if outcome is None:
            self.details.setPlainText("")
            return
        head = f"{outcome.status.upper()} · {outcome.mode} · {outcome.duration_ms:.0f} ms"
        lines = failure_lines(outcome) if outcome.status != "passed" else [
            f"{len(outcome.assertions)} assertion(s) held."]
        skipped = [a for a in outcome.assertions if a.outcome == "skipped"]
        lines += [f"skipped {a.kind} on {a.where}: {a.message}" for a in skipped]
        self.details.setPlainText("\n".join([head, *lines]))

    # -- running ------------------------------------------------------------------------------------

    def _flow_file(self) -> FlowFile | None:
        path = self.document.path
        if path is None:
            self.details.setPlainText("Save the flow first: its tests' cassettes are stored beside the file.")
            return None
        flow = self.document.flow.model_copy(deep=True)
        return FlowFile(Path(path), flow, dump_flow(flow).encode("utf-8"))

    def _in_worker(self, coro_factory: Callable[[], Any], callback: Callable[[Any], None]) -> None:
        self.busy = True
        self._update_buttons()
        self.summary.setText("Running tests...")

        def work() -> None:
            try:
                value = asyncio.run(coro_factory())
            except Exception as exc:  # noqa: BLE001 - shown in the panel, never a crash
                value = exc
            self._done.emit(callback, value)

        threading.Thread(target=work, name="studio-tests", daemon=True).start()

    def run_selected(self, record: bool = False) -> bool:
        name = self.selected_name()
        return self.run_tests([name] if name else [], record=record)

    def run_all(self) -> bool:
        return self.run_tests([t.name for t in self.tests()])

    def run_tests(self, names: list[str], record: bool = False) -> bool:
        item = self._flow_file()
        if item is None or not names or self.busy or not self.trust():
            return False
        base_url, connection = self.base_url(), self.connection()  # test names hold no glob characters
        self._in_worker(lambda: run_many([item], only=list(names), record=record, base_url=base_url, trust=True,
                                         connection=connection), self._on_finished)
        return True

    def _on_finished(self, value: Any) -> None:
        self.busy = False
        if isinstance(value, Exception):
            self.details.setPlainText(f"The tests could not run: {type(value).__name__}: {value}")
            self.refresh()
            return
        for outcome in value:
            self.results[outcome.test] = outcome
        self.refresh()
        failing = [o for o in value if o.status != "passed"]
        if failing:
            self.select(failing[0].test)
            self.highlight(failing[0].failing_nodes)
        elif value:
            self.select(value[0].test)
        self.finished.emit(list(value))

    def delete_selected(self) -> bool:
        name = self.selected_name()
        if name is None:
            return False
        self.document.set_tests([t for t in self.tests() if t.name != name], text="Delete test")
        return True

    # -- Save as test ------------------------------------------------------------------------------

    def _ask_name_dialog(self, suggestion: str) -> str | None:
        name, ok = QInputDialog.getText(self, "Save as test", "Test name:", text=suggestion)
        return name.strip() if ok and name.strip() else None

    def _free_name(self, base: str) -> str:
        names = {t.name for t in self.tests()}
        name, n = base, 2
        while name in names:
            name, n = f"{base} {n}", n + 1
        return name

    def save_run_as_test(self, run: Any) -> bool:
        """A new test from a past run (a history RunRecord): its payload, a recorded cassette and
        the recording's outcome as expectations."""
        from studio.testing.capture import record_new_test

        item = self._flow_file()
        if item is None or self.busy:
            return False
        name = self.ask_name(self._free_name(f"run {str(getattr(run, 'run_id', ''))[:8]}".strip()))
        if not name or not self.trust():
            return False
        payload = getattr(run, "payload", None)
        base_url, connection = self.base_url(), self.connection()
        self._in_worker(lambda: record_new_test(item, name, payload, base_url=base_url, connection=connection,
                                                trust=True), self._on_saved)
        return True

    def _on_saved(self, value: Any) -> None:
        self.busy = False
        if isinstance(value, Exception):
            self.details.setPlainText(f"Could not save the test: {type(value).__name__}: {value}")
            self.refresh()
            return
        test, outcome = value
        if outcome.status == "error":
            self.details.setPlainText("Could not record the test:\n" + "\n".join(failure_lines(outcome)))
            self.refresh()
            return
        self.document.set_tests([*[t for t in self.tests() if t.name != test.name], test], text="Save as test")
        self.results[test.name] = outcome
        self.refresh()
        self.select(test.name)
        self.saved.emit(test, outcome)


def install_tests_panel(window: Any) -> TestsPanel:
    """Add the Tests tab to the main window, next to Run, and connect it to the document, the
    canvas (failing nodes), the run settings and History's "Save as test"."""
    panel = TestsPanel(window.document, window.catalog, window.context)
    panel.base_url = lambda: window.runs.base_url
    panel.connection = lambda: window.runs.default_connection() if window.runs.default_connection else None
    panel.trust = window.check_trust

    def highlight(names: list[str]) -> None:
        ids = []
        for name in names:
            try:
                ids.append(window.document.flow.node_by_name(name).id)
            except KeyError:
                continue
        for nid in ids:
            window.canvas.set_status(nid, "failed")
        if ids:
            window.canvas.select(ids[:1])

    panel.highlight = highlight
    dock = QDockWidget("Tests", window)
    dock.setObjectName("tests_dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(window.run_dock, dock)
    window.run_dock.raise_()
    window.document.reset.connect(lambda: (panel.results.clear(), panel.refresh()))
    window.document.tests_changed.connect(panel.refresh)
    window.history_panel.save_as_test_requested.connect(lambda run: (dock.show(), dock.raise_(),
                                                                     panel.save_run_as_test(run)))
    _add_assert_action(window, panel, dock)
    window.tests_panel, window.tests_dock = panel, dock
    return panel


def _add_assert_action(window: Any, panel: TestsPanel, dock: QDockWidget) -> None:
    """"Assert this value" in the output inspector's JSON tree (its context menu)."""
    inspector = window.run_panel.inspector
    tree = inspector.json_tree

    def assert_selected() -> bool:
        items = tree.selectedItems()
        name = inspector.title.text().split(" — ")[0]  # node names cannot hold the dash
        if not items or inspector.value is None:
            return False
        keys = []
        item = items[0]
        while item is not None and item.parent() is not None:  # below the "output" root
            keys.insert(0, item.text(0))
            item = item.parent()
        path = json_path_of(keys, inspector.value)
        from studio.testing.assertions import PathError, at_path

        try:
            value = at_path(inspector.value, path)
        except PathError:
            return False
        dock.show()
        dock.raise_()
        return panel.assert_value(name, path, value)

    action = QAction("Assert this value", tree)
    action.setToolTip("Add an `equals` check of this value to the selected test (Tests tab)")
    action.triggered.connect(assert_selected)
    tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    tree.addAction(action)
    panel.assert_action, panel.assert_selected = action, assert_selected
