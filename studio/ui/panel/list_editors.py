"""Editors of lists and files: key/value pairs, lists of strings, a file path with a picker."""

from __future__ import annotations

import json
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.models import Input


from .value_editors import EditorContext, ValueEditor, _FlushingLineEdit


class KeyValueEditor(ValueEditor):
    """Two columns (key, value) with add/remove; stored as a JSON object."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Key", "Value"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setFixedHeight(110)
        self.table.itemChanged.connect(lambda _item: self._changed())
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        box.addWidget(self.table)
        box.addLayout(buttons)
        self._layout.addLayout(box)

    def add_row(self, key: str = "", value: str = "") -> None:
        self._loading = True
        try:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(key if isinstance(key, str) else ""))
            self.table.setItem(row, 1, QTableWidgetItem(value))
        finally:
            self._loading = False
        if not key:
            self.table.setCurrentCell(self.table.rowCount() - 1, 0)
            self.table.editItem(self.table.item(self.table.rowCount() - 1, 0))

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()} or
                      ({self.table.currentRow()} if self.table.currentRow() >= 0 else set()), reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self._changed()

    def value(self) -> Any:
        result: dict[str, Any] = {}
        for row in range(self.table.rowCount()):
            key_item, value_item = self.table.item(row, 0), self.table.item(row, 1)
            key = key_item.text().strip() if key_item else ""
            if key:
                result[key] = value_item.text() if value_item else ""
        return result or None

    def _show(self, value: Any) -> None:
        self.table.setRowCount(0)
        pairs: list[tuple[str, Any]] = []
        if isinstance(value, dict):
            pairs = list(value.items())
        elif isinstance(value, list):  # [{key, value}, ...]
            pairs = [(p.get("key", ""), p.get("value", "")) for p in value if isinstance(p, dict)]
        for key, item in pairs:
            shown = item if isinstance(item, str) else json.dumps(item)
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(str(key)))
            self.table.setItem(row, 1, QTableWidgetItem(shown))


class StringListEditor(ValueEditor):
    """An editable list of strings with add/remove."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.list = QListWidget()
        self.list.setFixedHeight(90)
        self.list.itemChanged.connect(lambda _item: self._changed())
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(lambda: self.add_item(""))
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        box.addWidget(self.list)
        box.addLayout(buttons)
        self._layout.addLayout(box)

    def _item(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    def add_item(self, text: str = "") -> None:
        self._loading = True
        try:
            item = self._item(text)
            self.list.addItem(item)
        finally:
            self._loading = False
        if text:
            self._changed()
        else:
            self.list.setCurrentItem(item)
            self.list.editItem(item)

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._changed()

    def value(self) -> Any:
        items = [self.list.item(i).text() for i in range(self.list.count())]
        items = [i for i in items if i.strip()]
        return items or None

    def _show(self, value: Any) -> None:
        self.list.clear()
        if isinstance(value, str):
            value = [value]
        for text in value or []:
            self.list.addItem(self._item(str(text)))


class FileEditor(ValueEditor):
    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.line = _FlushingLineEdit(self._flush)
        self.line.setPlaceholderText(spec.placeholder or "Path to a file, or an upstream artifact")
        self.line.textEdited.connect(self._typed)
        self.line.returnPressed.connect(self._flush)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self._layout.addWidget(self.line, 1)
        self._layout.addWidget(self.browse)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {self.spec.label}", self.line.text())
        if path:
            self.line.setText(path)
            self.commit()

    def value(self) -> Any:
        return self.line.text() or None

    def _show(self, value: Any) -> None:
        if isinstance(value, dict) and "path" in value:
            value = value["path"]
        self.line.setText("" if value is None else str(value))
