"""Editors that read the machine and the catalog: the connection a node uses and its model
(listed by the node's kind of model, from the connection when it can list them)."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QCompleter,
    QPushButton,
    QToolButton,
    QWidget,
)

from studio.catalog.models import Input

from .models_source import MODEL_PLACEHOLDERS, models_of_kind

from .value_editors import EditorContext, SIMULATED_LABEL, ValueEditor, simulated_connection_name


NOT_SET_UP = " (not set up here)"


class ConnectionEditor(ValueEditor):
    """The connection's NAME (never a secret): the store's names plus the offline simulation."""

    DEFAULT_LABEL = "Default connection"

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.combo = QComboBox()
        self.combo.currentIndexChanged.connect(self._on_index)
        self.manage = QPushButton("Manage…")
        self.manage.setToolTip("Add, edit or test connections")
        self.manage.clicked.connect(self._manage)
        self._layout.addWidget(self.combo, 1)
        self._layout.addWidget(self.manage)
        context.connections_changed.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        current = self.value()
        self._loading = True
        try:
            self.combo.clear()
            self.combo.addItem(self.DEFAULT_LABEL, "")
            simulated = simulated_connection_name()
            for name in self.context.connection_names():
                if name != simulated:
                    self.combo.addItem(name, name)
            self.combo.addItem(SIMULATED_LABEL, simulated)
            self._select(current)
        finally:
            self._loading = False

    def names(self) -> list[str]:
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def _select(self, name: Any) -> None:
        name = name or ""
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == name:
                self.combo.setCurrentIndex(i)
                return
        # A name this machine does not know (a flow from elsewhere): keep it, marked.
        self.combo.addItem(f"{name}{NOT_SET_UP}", name)
        self.combo.setCurrentIndex(self.combo.count() - 1)

    def _on_index(self, _index: int) -> None:
        self.context.select_connection(self.value() or "")
        self._changed()

    def _manage(self) -> None:
        if self.context.manage_connections:
            self.context.manage_connections()

    def value(self) -> Any:
        data = self.combo.currentData()
        return data or None

    def _show(self, value: Any) -> None:
        for i in reversed(range(self.combo.count())):  # another node's unknown name (the panel is reused)
            if self.combo.itemText(i).endswith(NOT_SET_UP) and self.combo.itemData(i) != (value or ""):
                self.combo.removeItem(i)
        self._select(value)
        self.context.select_connection(value or "")


class ModelEditor(ValueEditor):
    """An editable combo: the connection's models when they are known, any typed id always."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.kind: str | None = "chat"
        self._all_ids: list[str] = []
        self.combo.lineEdit().setPlaceholderText(spec.placeholder or MODEL_PLACEHOLDERS["chat"])
        self.combo.lineEdit().textEdited.connect(self._typed)
        self.combo.lineEdit().returnPressed.connect(self._flush)
        self.combo.activated.connect(lambda _i: self.commit())
        self.combo.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.combo.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.refresh = QToolButton()
        self.refresh.setText("⟳")
        self.refresh.setToolTip("Reload the model list from the connection")
        self.refresh.clicked.connect(lambda: self.load_models(force=True))
        self._layout.addWidget(self.combo, 1)
        self._layout.addWidget(self.refresh)
        context.model_source.models_ready.connect(self._on_models)
        context.model_source.failed.connect(self._on_failed)
        context.connection_selected.connect(self._on_connection)
        self.load_models()

    def set_kind(self, kind: str | None) -> None:
        """List only models of `kind` ("chat", "image", "speech", "transcription", ...; None: all)."""
        self.kind = kind
        if not self.spec.placeholder:
            self.combo.lineEdit().setPlaceholderText(MODEL_PLACEHOLDERS.get(kind, MODEL_PLACEHOLDERS[None]))
        if self._all_ids:
            self._fill(self._all_ids)

    def _on_connection(self, _name: str) -> None:
        self.load_models()

    def load_models(self, force: bool = False) -> None:
        connection = self.context.current_connection
        cached = self.context.model_source.cached(connection)
        if cached is not None and not force:
            self._fill(cached)
            return
        self.refresh.setToolTip("Loading models…")
        self.context.model_source.request(connection, force=force)

    def _on_models(self, connection: str, ids: list) -> None:
        if connection == self.context.current_connection:
            self.refresh.setToolTip(f"{len(ids)} models; click to reload")
            self._fill(ids)

    def _on_failed(self, connection: str, message: str) -> None:
        if connection == self.context.current_connection:
            self.refresh.setToolTip(f"Could not list models: {message}\nClick to try again.")

    def _fill(self, ids: list[str]) -> None:
        self._all_ids = list(ids)
        text = self.combo.currentText()
        self._loading = True
        try:
            self.combo.clear()
            self.combo.addItems(models_of_kind(ids, self.kind))
            self.combo.setEditText(text)
        finally:
            self._loading = False

    def model_ids(self) -> list[str]:
        return [self.combo.itemText(i) for i in range(self.combo.count())]

    def value(self) -> Any:
        return self.combo.currentText().strip() or None

    def _show(self, value: Any) -> None:
        self.combo.setEditText("" if value is None else str(value))
