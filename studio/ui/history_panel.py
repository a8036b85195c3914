"""The run history of the current flow: every recorded run (editor, CLI, schedule, webhook, chat)
with its trigger, status, duration and tokens. From here a past run opens on the canvas, runs
again with the same payload, lends a node's output as a pin for later runs, becomes a stored test
(Save as test: the Tests tab records it), or is deleted; the retention setting keeps the database
from growing without end."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from qtpy.QtCore import QItemSelectionModel, Qt, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.history import RunHistory, RunRecord

log = logging.getLogger(__name__)

RUN_COLUMNS = ["When", "Trigger", "Status", "Duration", "Tokens"]
NODE_COLUMNS = ["Node", "Status", "Duration", "Tokens", "Pinned"]
DEFAULT_RETENTION = {"max_runs_per_flow": 200, "max_age_days": 30.0}


def _tokens(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, (int, float)) and not isinstance(total, bool):
        return int(total)
    parts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")]
    numbers = [int(p) for p in parts if isinstance(p, (int, float)) and not isinstance(p, bool)]
    return sum(numbers) if numbers else None


def format_duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    return f"{int(ms // 60_000)} min {int(ms % 60_000 // 1000)} s"


def format_when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def run_duration_ms(run: RunRecord) -> float | None:
    return None if run.finished_at is None else max(0.0, (run.finished_at - run.started_at) * 1000)


def retention_path():
    from studio.paths import config_dir

    return config_dir() / "history.json"


def load_retention() -> dict[str, Any]:
    """The user's retention setting; None in a field means "keep regardless"."""
    try:
        stored = json.loads(retention_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return dict(DEFAULT_RETENTION)
    out = dict(DEFAULT_RETENTION)
    for key in out:
        if key in stored and (stored[key] is None or isinstance(stored[key], (int, float))):
            out[key] = stored[key]
    return out


def save_retention(setting: dict[str, Any]) -> None:
    try:
        retention_path().write_text(json.dumps(setting, indent=1), encoding="utf-8")
    except OSError:
        log.warning("could not save the history retention setting", exc_info=True)



def _select_item(tree: Any, key: str) -> bool:
    """Make the row whose id (UserRole data) is `key` the only selected and current one."""
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        if item.data(0, Qt.ItemDataRole.UserRole) == key:
            # An explicit command: setCurrentItem(item) alone reads the keyboard's modifiers, so a
            # Ctrl held at that moment would toggle the row off again.
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            tree.setCurrentItem(item, 0, flags)
            return True
    return False

class HistoryPanel(QWidget):
    """Runs of one flow (newest first) above the nodes of the selected run."""

    run_opened = Signal(object)  # RunRecord with its nodes: show its outputs and badges on the canvas
    rerun_requested = Signal(object)  # the trigger payload of the run to repeat
    pins_changed = Signal(dict)  # node id -> pinned output, for the flow shown
    runs_deleted = Signal(list)  # run ids
    save_as_test_requested = Signal(object)  # RunRecord: its payload becomes a stored test

    def __init__(self, history: RunHistory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self.flow_id: str | None = None
        self.node_names: dict[str, str] = {}
        self.current: RunRecord | None = None  # the selected run, with nodes
        # Questions go through here so tests (and the main window) can answer them.
        self.confirm: Callable[[str, str], bool] = self._confirm_dialog

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel("No flow open.")
        layout.addWidget(self.summary)

        split = QSplitter(Qt.Orientation.Vertical)
        self.runs = QTreeWidget()
        self.runs.setHeaderLabels(RUN_COLUMNS)
        self.runs.setRootIsDecorated(False)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.runs.setColumnWidth(0, 150)
        self.runs.itemSelectionChanged.connect(self._on_run_selected)
        self.runs.itemDoubleClicked.connect(lambda _item, _col: self.open_selected())
        split.addWidget(self.runs)

        self.nodes = QTreeWidget()
        self.nodes.setHeaderLabels(NODE_COLUMNS)
        self.nodes.setRootIsDecorated(False)
        self.nodes.itemSelectionChanged.connect(self._update_buttons)
        split.addWidget(self.nodes)
        layout.addWidget(split, 1)

        row = QHBoxLayout()
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Show this run's outputs and statuses on the canvas")
        self.open_button.clicked.connect(self.open_selected)
        self.rerun_button = QPushButton("Run again")
        self.rerun_button.setToolTip("Run the flow again with this run's trigger payload")
        self.rerun_button.clicked.connect(self.rerun_selected)
        self.pin_button = QPushButton("Pin output")
        self.pin_button.setToolTip("Later runs reuse this node's output instead of running it")
        self.pin_button.clicked.connect(self.pin_selected)
        self.unpin_button = QPushButton("Unpin")
        self.unpin_button.clicked.connect(self.unpin_selected)
        self.test_button = QPushButton("Save as test")
        self.test_button.setToolTip("Store a test of this flow with this run's payload; its answers are recorded "
                                    "to a cassette and replay offline (the Tests tab, studio test)")
        self.test_button.clicked.connect(self.save_selected_as_test)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        for b in (self.open_button, self.rerun_button, self.pin_button, self.unpin_button, self.test_button,
                  self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)

        keep = QHBoxLayout()
        setting = load_retention()
        self.keep_runs = QCheckBox("Keep at most")
        self.max_runs = QSpinBox()
        self.max_runs.setRange(1, 1_000_000)
        self.max_runs.setValue(int(setting["max_runs_per_flow"] or DEFAULT_RETENTION["max_runs_per_flow"]))
        self.keep_runs.setChecked(setting["max_runs_per_flow"] is not None)
        self.keep_days = QCheckBox("runs per flow; delete runs older than")
        self.max_days = QDoubleSpinBox()
        self.max_days.setRange(0.01, 36500)
        self.max_days.setDecimals(2)
        self.max_days.setValue(float(setting["max_age_days"] or DEFAULT_RETENTION["max_age_days"]))
        self.keep_days.setChecked(setting["max_age_days"] is not None)
        self.apply_button = QPushButton("Apply retention")
        self.apply_button.clicked.connect(lambda: self.apply_retention(save=True))
        for w in (self.keep_runs, self.max_runs, self.keep_days, self.max_days, QLabel("days")):
            keep.addWidget(w)
        keep.addStretch(1)
        keep.addWidget(self.apply_button)
        layout.addLayout(keep)
        self._update_buttons()

    # -- data -------------------------------------------------------------------------------------

    @property
    def history(self) -> RunHistory:
        if self._history is None:
            self._history = RunHistory()
        return self._history

    def set_flow(self, flow_id: str | None, node_names: dict[str, str] | None = None) -> None:
        """Show the runs of `flow_id`; `node_names` (id -> current name) labels the pins."""
        self.flow_id = flow_id
        self.node_names = dict(node_names or {})
        self.refresh()

    def refresh(self) -> None:
        selected = set(self.selected_run_ids())
        self.runs.blockSignals(True)
        self.runs.clear()
        records: list[RunRecord] = []
        if self.flow_id is not None:
            try:
                records = self.history.list_runs(self.flow_id, limit=1000)
            except Exception as exc:  # noqa: BLE001 - a locked or broken database must not break the editor
                log.exception("could not read the run history")
                self.summary.setText(f"Could not read the run history: {exc}")
        for run in records:
            tokens = _tokens(run.usage)
            item = QTreeWidgetItem([format_when(run.started_at), run.trigger, run.status,
                                    format_duration(run_duration_ms(run)), "" if tokens is None else str(tokens)])
            item.setData(0, Qt.ItemDataRole.UserRole, run.run_id)
            item.setToolTip(0, run.run_id)
            if isinstance(run.error, dict) and run.error.get("message"):
                item.setToolTip(2, str(run.error["message"]))
            self.runs.addTopLevelItem(item)
            if run.run_id in selected:
                item.setSelected(True)
        self.runs.blockSignals(False)
        if self.flow_id is None:
            self.summary.setText("No flow open.")
        else:
            pins = self.pinned()
            self.summary.setText(f"{len(records)} run(s)" + (f" · {len(pins)} pinned output(s)" if pins else ""))
        self._on_run_selected()

    def run_ids(self) -> list[str]:
        return [self.runs.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                for i in range(self.runs.topLevelItemCount())]

    def selected_run_ids(self) -> list[str]:
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.runs.selectedItems()]

    def select_run(self, run_id: str) -> bool:
        return _select_item(self.runs, run_id)

    def pinned(self) -> dict[str, Any]:
        if self.flow_id is None:
            return {}
        return self.history.pinned_outputs(self.flow_id)

    # -- selection ---------------------------------------------------------------------------------

    def _on_run_selected(self) -> None:
        ids = self.selected_run_ids()
        self.current = None
        self.nodes.clear()
        if len(ids) == 1:
            try:
                self.current = self.history.get_run(ids[0])
            except KeyError:
                self.current = None
        if self.current is not None:
            pins = self.pinned()
            for node in self.current.nodes:
                tokens = _tokens(node.usage)
                item = QTreeWidgetItem([self.node_names.get(node.node_id, node.node_name), node.status,
                                        format_duration(node.duration_ms), "" if tokens is None else str(tokens),
                                        "pinned" if node.node_id in pins else ""])
                item.setData(0, Qt.ItemDataRole.UserRole, node.node_id)
                if node.error:
                    message = node.error.get("message") if isinstance(node.error, dict) else str(node.error)
                    item.setToolTip(1, str(message))
                self.nodes.addTopLevelItem(item)
        self._update_buttons()

    def select_node(self, node_id: str) -> bool:
        return _select_item(self.nodes, node_id)

    def _selected_node(self) -> Any:
        items = self.nodes.selectedItems()
        if not items or self.current is None:
            return None
        nid = items[0].data(0, Qt.ItemDataRole.UserRole)
        return next((n for n in self.current.nodes if n.node_id == nid), None)

    def _update_buttons(self) -> None:
        runs = self.selected_run_ids()
        one = self.current is not None
        node = self._selected_node()
        pins = self.pinned() if node is not None else {}
        self.open_button.setEnabled(one)
        self.rerun_button.setEnabled(one)
        self.test_button.setEnabled(one and self.current.status in ("succeeded", "failed", "waiting"))
        self.delete_button.setEnabled(bool(runs))
        self.pin_button.setEnabled(node is not None and node.status == "succeeded")
        self.unpin_button.setEnabled(node is not None and node.node_id in pins)

    # -- actions -----------------------------------------------------------------------------------

    def open_selected(self) -> RunRecord | None:
        if self.current is None:
            return None
        self.run_opened.emit(self.current)
        return self.current

    def rerun_selected(self) -> bool:
        if self.current is None:
            return False
        self.rerun_requested.emit(self.current.payload)
        return True

    def save_selected_as_test(self) -> bool:
        if self.current is None:
            return False
        self.save_as_test_requested.emit(self.current)
        return True

    def pin_selected(self) -> bool:
        """Pin the selected node's output from the selected run (only a succeeded node has one)."""
        node = self._selected_node()
        if node is None or node.status != "succeeded" or self.flow_id is None:
            return False
        self.history.pin_output(self.flow_id, node.node_id, node.output)
        self._pins_changed(node.node_id)
        return True

    def unpin_selected(self) -> bool:
        node = self._selected_node()
        if node is None or self.flow_id is None:
            return False
        return self.unpin(node.node_id)

    def unpin(self, node_id: str) -> bool:
        if self.flow_id is None or node_id not in self.pinned():
            return False
        self.history.unpin_output(self.flow_id, node_id)
        self._pins_changed(node_id)
        return True

    def _pins_changed(self, node_id: str) -> None:
        pins = self.pinned()
        run = self.current.run_id if self.current else None
        self.refresh()
        if run is not None:
            self.select_run(run)
            self.select_node(node_id)
        self.pins_changed.emit(pins)

    def delete_selected(self) -> int:
        ids = self.selected_run_ids()
        if not ids:
            return 0
        what = "this run" if len(ids) == 1 else f"these {len(ids)} runs"
        if not self.confirm("Delete runs", f"Delete {what} from the history? Their recorded outputs are lost."):
            return 0
        for run_id in ids:
            self.history.delete_run(run_id)
        self.refresh()
        self.runs_deleted.emit(ids)
        return len(ids)

    def retention(self) -> dict[str, Any]:
        return {"max_runs_per_flow": self.max_runs.value() if self.keep_runs.isChecked() else None,
                "max_age_days": self.max_days.value() if self.keep_days.isChecked() else None}

    def apply_retention(self, save: bool = False, now: float | None = None) -> int:
        """Delete the runs the setting no longer keeps (all flows); returns how many went."""
        setting = self.retention()
        if save:
            save_retention(setting)
        if setting["max_runs_per_flow"] is None and setting["max_age_days"] is None:
            return 0
        deleted = self.history.apply_retention(max_runs_per_flow=setting["max_runs_per_flow"],
                                               max_age_days=setting["max_age_days"], now=now)
        self.refresh()
        return deleted

    def _confirm_dialog(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes
