"""Editing a test's assertions in forms generated from the catalog, the way the property panel
edits a node's inputs: the kind picks the fields (`AssertionKind.inputs`), each shown by the same
value editors (`create_editor`). Every change hands the whole new list to `changed`, which the
Tests tab writes to the document as one undoable edit."""

from __future__ import annotations

import json
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.catalog import Catalog
from studio.flow.cases import Assertion

from .panel.widgets import EditorContext, ValueEditor, create_editor


def summary(item: Assertion) -> str:
    """One line for the list: `equals on Write.choices[0].message.content = "x"`."""
    where = item.node + (f".{item.path}" if item.path else "") if item.node else "the run"
    values = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)[:40]}" for k, v in item.values.items())
    return f"{item.kind} on {where}" + (f"  ({values})" if values else "")


class AssertionForm(QWidget):
    """The fields of one assertion: kind, node, path, the kind's own fields and a note."""

    edited = Signal(object)  # the Assertion as the form now shows it

    def __init__(self, catalog: Catalog, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.context = context
        self.editors: dict[str, ValueEditor] = {}
        self._loading = False
        self.form = QFormLayout(self)
        self.kind = QComboBox()
        for kind in catalog.assertions:
            self.kind.addItem(kind.title + ("" if kind.deterministic else " (non-deterministic)"), kind.id)
            self.kind.setItemData(self.kind.count() - 1, kind.description, Qt.ItemDataRole.ToolTipRole)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.node = QComboBox()
        self.node.setEditable(True)
        self.node.currentTextChanged.connect(lambda _t: self._emit())
        self.path = QLineEdit()
        self.path.setPlaceholderText("choices[0].message.content (empty: the whole output)")
        self.path.editingFinished.connect(self._emit)
        self.note = QLineEdit()
        self.note.setPlaceholderText("why this check matters (shown when it fails)")
        self.note.editingFinished.connect(self._emit)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Node", self.node)
        self.form.addRow("Path", self.path)
        self.fixed_rows = self.form.rowCount()
        self.form.addRow("Note", self.note)

    def set_nodes(self, names: list[str]) -> None:
        self._loading = True
        text = self.node.currentText()
        self.node.clear()
        self.node.addItems(["", *names])
        self.node.setCurrentText(text)
        self._loading = False

    def set_assertion(self, item: Assertion) -> None:
        self._loading = True
        try:
            index = self.kind.findData(item.kind)
            self.kind.setCurrentIndex(max(index, 0))
            self._build_fields()
            self.node.setCurrentText(item.node)
            self.path.setText(item.path)
            self.note.setText(item.note)
            for key, editor in self.editors.items():
                editor.set_value(item.values.get(key))
        finally:
            self._loading = False

    def assertion(self) -> Assertion:
        values = {}
        for key, editor in self.editors.items():
            value = editor.value()
            if value is not None and value != "":
                values[key] = value
        return Assertion(kind=self.kind.currentData() or "equals", node=self.node.currentText().strip(),
                         path=self.path.text().strip(), values=values, note=self.note.text().strip())

    def _build_fields(self) -> None:
        while self.form.rowCount() > self.fixed_rows + 1:  # the kind's rows sit between Path and Note
            self.form.removeRow(self.fixed_rows)
        self.editors = {}
        kind = self.catalog.assertion(self.kind.currentData())
        self.path.setEnabled(kind.target == "output")
        for n, spec in enumerate(kind.inputs):
            editor = create_editor(spec, self.context, self)
            editor.setToolTip(spec.description)
            editor.edited.connect(lambda _v: self._emit())
            self.editors[spec.key] = editor
            self.form.insertRow(self.fixed_rows + n, spec.label + (" *" if spec.required else ""), editor)

    def _kind_changed(self) -> None:
        if self._loading:
            return
        self._build_fields()
        self._emit()

    def _emit(self) -> None:
        if not self._loading:
            self.edited.emit(self.assertion())


class AssertionsEditor(QWidget):
    """The assertions of one test: a list, Add and Remove, and the selected one's form."""

    changed = Signal(list)  # [Assertion]: the whole new list

    def __init__(self, catalog: Catalog, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[Assertion] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show_row)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self.add(Assertion(kind="status", values={"status": "succeeded"})))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_current)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.form = AssertionForm(catalog, context)
        self.form.edited.connect(self._form_edited)
        layout.addWidget(self.form)
        self.empty = QLabel("Select a test to edit its assertions.")
        layout.addWidget(self.empty)
        self.set_items(None)

    def set_items(self, items: list[Assertion] | None, nodes: list[str] | None = None) -> None:
        """Show a test's assertions (None: no test selected)."""
        row = max(self.list.currentRow(), 0)
        self.items = list(items or [])
        self.form.set_nodes(nodes or [])
        self.list.blockSignals(True)
        self.list.clear()
        for item in self.items:
            self.list.addItem(QListWidgetItem(summary(item)))
        self.list.blockSignals(False)
        enabled = items is not None
        self.add_button.setEnabled(enabled)
        self.empty.setVisible(not enabled)
        if self.items:
            self.list.setCurrentRow(min(row, len(self.items) - 1))
            self._show_row(self.list.currentRow())
        else:
            self.form.setVisible(False)
            self.remove_button.setEnabled(False)

    def add(self, item: Assertion) -> None:
        self.items.append(item)
        self.list.addItem(QListWidgetItem(summary(item)))
        self.list.setCurrentRow(len(self.items) - 1)
        self.changed.emit(list(self.items))

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.items):
            del self.items[row]
            self.list.takeItem(row)
            self.changed.emit(list(self.items))

    def _show_row(self, row: int) -> None:
        ok = 0 <= row < len(self.items)
        self.form.setVisible(ok)
        self.remove_button.setEnabled(ok)
        if ok:
            self.form.set_assertion(self.items[row])

    def _form_edited(self, item: Assertion) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.items) and item != self.items[row]:
            self.items[row] = item
            self.list.item(row).setText(summary(item))
            self.changed.emit(list(self.items))


def json_path_of(keys: list[str], value: Any) -> str:
    """The JSON path of the item reached by `keys` from `value` (list indexes in brackets)."""
    path, current = "", value
    for key in keys:
        if isinstance(current, list):
            path += f"[{int(key)}]"
            current = current[int(key)]
        elif isinstance(current, dict):
            simple = key.replace("_", "a").replace("-", "a").isalnum() and not key[:1].isdigit()
            path += (f".{key}" if path else key) if simple else f"['{key}']"
            current = current.get(key)
        else:
            break
    return path
