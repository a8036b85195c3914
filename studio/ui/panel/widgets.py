"""One editor widget per catalog ValueType. The property panel never knows about individual
actions: it asks `create_editor(input)` for each declared input and talks to every editor through
the same small interface (`set_value`, `value`, the `edited` signal)."""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QStackedWidget,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.models import Input, ValueType

from .models_source import MODEL_PLACEHOLDERS, ModelSource, model_kind, models_of_kind

# Numbers without a documented range still need bounds; these are wide enough for any API field.
WIDE_MIN = -1_000_000_000
WIDE_MAX = 1_000_000_000
INT_LIMIT = 2_147_483_647  # QSpinBox is a C int
# Typing in text fields is written to the document after this pause, so one word is one edit.
COMMIT_DELAY_MS = 400
UNSET_TEXT = "(not set)"
SIMULATED_LABEL = "Simulated (offline)"
ERROR_STYLE = "color: #b3261e;"


def simulated_connection_name() -> str:
    """The name the credential store gives its built-in offline connection (seam: the store may
    not be importable yet, then the label doubles as the name)."""
    try:
        from studio.credentials import SIMULATED  # type: ignore[attr-defined]

        return getattr(SIMULATED, "name", SIMULATED)
    except Exception:  # noqa: BLE001 - credentials package still landing
        return "simulated"


class EditorContext(QObject):
    """What editors need beyond their own input: the connection names and the model lists.
    The panel owns one and keeps it current; editors only read it."""

    connections_changed = Signal()
    connection_selected = Signal(str)  # the node's current connection name ("" = default)

    def __init__(self, *, connection_names: Callable[[], list[str]] | None = None,
                 model_source: ModelSource | None = None, manage_connections: Callable[[], None] | None = None,
                 default_connection: Callable[[], str | None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._connection_names = connection_names or (lambda: [])
        # What a node left at "Default connection" runs on (the toolbar's Run on), so its Model
        # list comes from the same place the run will go.
        self._default_connection = default_connection or (lambda: None)
        self.model_source = model_source or ModelSource(self)
        self.manage_connections = manage_connections
        self.current_connection = ""

    def connection_names(self) -> list[str]:
        try:
            return list(self._connection_names())
        except Exception:  # noqa: BLE001 - a broken store must not break the panel
            return []

    def select_connection(self, name: str) -> None:
        if not name:
            try:
                name = self._default_connection() or ""
            except Exception:  # noqa: BLE001 - the default is a convenience
                name = ""
        self.current_connection = name or ""
        self.connection_selected.emit(self.current_connection)


class ValueEditor(QWidget):
    """Base of every editor. `edited` carries the new value (None = unset, so the default applies);
    `set_value` never emits it, so loading a node cannot echo back as an edit."""

    edited = Signal(object)

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.context = context
        self._loading = False
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._commit_timer = QTimer(self)
        self._commit_timer.setSingleShot(True)
        self._commit_timer.setInterval(COMMIT_DELAY_MS)
        self._commit_timer.timeout.connect(self.commit)

    # -- the interface the panel uses -----------------------------------------------------------

    def set_value(self, value: Any) -> None:
        """Show `value` (None: show the documented default, or the unset state)."""
        if value is None:
            value = self.spec.default
        if self._same(value, self.value()):
            return
        self._loading = True
        try:
            self._commit_timer.stop()
            self._show(value)
        finally:
            self._loading = False

    def value(self) -> Any:
        raise NotImplementedError

    def commit(self) -> None:
        """Write a pending (debounced) edit now."""
        self._commit_timer.stop()
        if not self._loading:
            self.edited.emit(self.value())

    def has_pending_edit(self) -> bool:
        return self._commit_timer.isActive()

    # -- for subclasses -----------------------------------------------------------------------

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _changed(self) -> None:
        """Immediate edits (checkbox, combo, spin step)."""
        if not self._loading:
            self.edited.emit(self.value())

    def _typed(self, *_args: Any) -> None:
        """Typing: written after a short pause (or when focus leaves)."""
        if not self._loading:
            self._commit_timer.start()

    def _flush(self) -> None:
        if self._commit_timer.isActive():
            self.commit()

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        try:
            return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b)
        except (TypeError, ValueError):
            return a == b


class _FlushOnFocusOut:
    """Mixin for text widgets: leaving the field writes what was typed at once."""

    def __init__(self, on_focus_out: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_focus_out = on_focus_out

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self._on_focus_out()


class _FlushingLineEdit(_FlushOnFocusOut, QLineEdit):
    pass


class _FlushingPlainTextEdit(_FlushOnFocusOut, QPlainTextEdit):
    pass


class StringEditor(ValueEditor):
    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.line = _FlushingLineEdit(self._flush)
        self.line.setPlaceholderText(spec.placeholder or "")
        self.line.textEdited.connect(self._typed)
        self.line.returnPressed.connect(self._flush)
        self._layout.addWidget(self.line)

    def value(self) -> Any:
        return self.line.text() or None

    def _show(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))


class TextEditor(ValueEditor):
    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.text = _FlushingPlainTextEdit(self._flush)
        self.text.setPlaceholderText(spec.placeholder or "")
        self.text.setTabChangesFocus(True)
        self.text.setFixedHeight(84)
        self.text.textChanged.connect(self._typed)
        self._layout.addWidget(self.text)

    def value(self) -> Any:
        return self.text.toPlainText() or None

    def _show(self, value: Any) -> None:
        self.text.setPlainText("" if value is None else str(value))


def json_error(text: str) -> str | None:
    """Why `text` is not JSON ("line 2, column 5: Expecting ',' delimiter"), or None if it is."""
    if not text.strip():
        return None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"Not valid JSON - line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return None


class JsonEditor(ValueEditor):
    """Multi-line JSON with live checking: invalid text shows why, inline, and is not written."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.json_page = QWidget()
        box = QVBoxLayout(self.json_page)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.text = _FlushingPlainTextEdit(self._flush)
        self.text.setPlaceholderText(spec.placeholder or '{"key": "value"}')
        self.text.setTabChangesFocus(True)
        self.text.setFixedHeight(96)
        font = self.text.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.text.setFont(font)
        self.text.textChanged.connect(self._on_text)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        box.addWidget(self.text)
        box.addWidget(self.error)
        self._layout.addWidget(self.json_page)

    def error_text(self) -> str | None:
        return self.error.text() if self.error.isVisibleTo(self) else None

    def value(self) -> Any:
        text = self.text.toPlainText()
        if not text.strip() or json_error(text):
            return None
        return json.loads(text)

    def commit(self) -> None:
        if json_error(self.text.toPlainText()):
            self._commit_timer.stop()
            return  # never write what is not JSON; the inline error says why
        super().commit()

    def _on_text(self) -> None:
        problem = json_error(self.text.toPlainText())
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)
        if problem is None:
            self._typed()
        else:
            self._commit_timer.stop()

    def _show(self, value: Any) -> None:
        self.text.setPlainText("" if value is None else json.dumps(value, indent=2, ensure_ascii=False))

    def set_value(self, value: Any) -> None:
        # Don't overwrite text the user is still fixing with the last good value.
        if json_error(self.text.toPlainText()) and self.text.hasFocus():
            return
        super().set_value(value)


def _mount_spin(editor: Any, low: float, high: float, step: float) -> None:
    """Shared set-up of the integer and number spin boxes: an input without a documented default
    gets one value below its range shown as "(not set)", so it can be left unset."""
    editor.unset_allowed = editor.spec.default is None
    editor._floor = low - step if editor.unset_allowed else low
    editor.spin.setRange(editor._floor, high)
    if editor.unset_allowed:
        editor.spin.setSpecialValueText(UNSET_TEXT)
    editor.spin.setKeyboardTracking(False)
    editor.spin.setMinimumWidth(120)
    editor.spin.valueChanged.connect(editor._changed)
    editor._layout.addWidget(editor.spin)
    editor._layout.addStretch(1)
    editor._show(editor.spec.default)


class IntegerEditor(ValueEditor):
    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.spin = QSpinBox()
        low = int(spec.minimum) if spec.minimum is not None else -INT_LIMIT + 1
        high = int(spec.maximum) if spec.maximum is not None else INT_LIMIT
        _mount_spin(self, low, high, 1)

    def value(self) -> Any:
        v = self.spin.value()
        if self.unset_allowed and v == self._floor:
            return None
        return int(v)

    def _show(self, value: Any) -> None:
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            self.spin.setValue(self._floor if self.unset_allowed else max(self.spin.minimum(), 0))
        else:
            self.spin.setValue(int(value))


class NumberEditor(ValueEditor):
    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.spin = QDoubleSpinBox()
        decimals = 2
        if isinstance(spec.default, float):
            text = repr(spec.default)
            if "." in text and "e" not in text:
                decimals = max(decimals, len(text.split(".")[1]))
        self.spin.setDecimals(decimals)
        step = 10 ** -decimals
        span = (spec.maximum - spec.minimum) if spec.minimum is not None and spec.maximum is not None else None
        self.spin.setSingleStep(0.1 if span is not None and span <= 2 else 1.0)
        low = spec.minimum if spec.minimum is not None else WIDE_MIN
        high = spec.maximum if spec.maximum is not None else WIDE_MAX
        _mount_spin(self, low, high, step)

    def value(self) -> Any:
        v = self.spin.value()
        if self.unset_allowed and math.isclose(v, self._floor, abs_tol=10 ** -(self.spin.decimals() + 1)):
            return None
        return float(v)

    def _show(self, value: Any) -> None:
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            self.spin.setValue(self._floor if self.unset_allowed else max(self.spin.minimum(), 0.0))
        else:
            self.spin.setValue(float(value))

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return math.isclose(float(a), float(b), abs_tol=1e-9)
        return a == b


class BooleanEditor(ValueEditor):
    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.check = QCheckBox()  # the field's label above names it; no second label here
        self.check.setAccessibleName(spec.label)
        self.check.toggled.connect(self._changed)
        self._layout.addWidget(self.check)
        self._layout.addStretch(1)

    def value(self) -> Any:
        return self.check.isChecked()

    def _show(self, value: Any) -> None:
        self.check.setChecked(bool(value))

    def set_value(self, value: Any) -> None:
        if value is None:
            value = bool(self.spec.default)
        super().set_value(value)


class EnumEditor(ValueEditor):
    """A combo of the option labels; the option value is what is stored."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        super().__init__(spec, context, parent)
        self.combo = QComboBox()
        self.combo.setPlaceholderText(UNSET_TEXT)
        for option in spec.options or []:
            self.combo.addItem(option.label, option.value)
        self.combo.setCurrentIndex(-1)
        self.combo.currentIndexChanged.connect(self._changed)
        self._layout.addWidget(self.combo, 1)

    def value(self) -> Any:
        index = self.combo.currentIndex()
        return None if index < 0 else self.combo.itemData(index)

    def _show(self, value: Any) -> None:
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == value:
                self.combo.setCurrentIndex(i)
                return
        self.combo.setCurrentIndex(-1)


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
        self.combo.addItem(f"{name} (not set up here)", name)
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


MESSAGE_ROLES = ["system", "developer", "user", "assistant"]


def message_rows(value: Any) -> list[tuple[str, str]] | None:
    """`value` as (role, content) rows, or None when it holds more than rows can show (content
    parts such as images, tool calls, names): such a value is edited as JSON."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    rows = []
    for message in value:
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            return None
        role, content = message.get("role", "user"), message.get("content", "")
        if not isinstance(role, str) or not isinstance(content, (str, type(None))):
            return None
        rows.append((role, content or ""))
    return rows


class MessageRow(QFrame):
    """One message: its role, its multi-line content (expressions allowed), and move/remove."""

    MIN_LINES = 2
    MAX_LINES = 10

    def __init__(self, owner: "MessagesEditor", role: str, content: str) -> None:
        super().__init__()
        self.owner = owner
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(2)
        self.role = QComboBox()
        self.role.setToolTip("Who says this message")
        for name in MESSAGE_ROLES:
            self.role.addItem(name, name)
        if role not in MESSAGE_ROLES:
            self.role.addItem(role, role)
        self.role.setCurrentIndex(self.role.findData(role))
        self.role.currentIndexChanged.connect(lambda _i: owner._row_changed())
        self.up_button = self._button("↑", "Move up", lambda: owner.move_row(self, -1))
        self.down_button = self._button("↓", "Move down", lambda: owner.move_row(self, 1))
        self.remove_button = self._button("✕", "Remove this message", lambda: owner.remove_row(self))
        top.addWidget(self.role)
        top.addStretch(1)
        for button in (self.up_button, self.down_button, self.remove_button):
            top.addWidget(button)
        self.content = _FlushingPlainTextEdit(owner._flush)
        self.content.setPlaceholderText("Message text; {{ expressions }} are allowed, e.g. {{ input }}")
        self.content.setTabChangesFocus(True)
        self.content.setPlainText(content)
        self.content.textChanged.connect(self._fit)
        self.content.textChanged.connect(owner._typed)
        layout.addLayout(top)
        layout.addWidget(self.content)
        self._fit()

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _fit(self) -> None:
        """As tall as its text (2 to 10 lines), so short messages stay short."""
        lines = max(self.content.document().lineCount(), self.content.blockCount())
        lines = min(max(lines, self.MIN_LINES), self.MAX_LINES)
        height = lines * self.content.fontMetrics().lineSpacing() + 12
        if self.content.height() != height:
            self.content.setFixedHeight(height)

    def message(self) -> dict[str, Any]:
        return {"role": self.role.currentData() or "user", "content": self.content.toPlainText()}


class MessagesEditor(JsonEditor):
    """A conversation edited as rows (role + content, add/remove/reorder) instead of raw JSON;
    "Edit as JSON" switches to the JSON text (always used for values rows cannot show)."""

    def __init__(self, spec: Input, context: EditorContext, parent: QWidget | None = None) -> None:
        self.rows: list[MessageRow] = []
        self._json_mode = False
        super().__init__(spec, context, parent)
        self._layout.removeWidget(self.json_page)
        self.rows_page = QWidget()
        self.rows_layout = QVBoxLayout(self.rows_page)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(4)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.rows_page)
        self.stack.addWidget(self.json_page)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add message")
        self.add_button.clicked.connect(lambda: self.add_row())
        self.mode_button = QToolButton()
        self.mode_button.setText("Edit as JSON")
        self.mode_button.setCheckable(True)
        self.mode_button.setToolTip("Edit the messages as a JSON list instead of rows")
        self.mode_button.toggled.connect(self.set_json_mode)
        self.mode_error = QLabel()
        self.mode_error.setStyleSheet(ERROR_STYLE)
        self.mode_error.setWordWrap(True)
        self.mode_error.hide()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.mode_button)
        outer = QVBoxLayout()
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addWidget(self.stack)
        outer.addLayout(buttons)
        outer.addWidget(self.mode_error)
        self._layout.addLayout(outer)

    # rows ---------------------------------------------------------------------------------------

    def add_row(self, role: str | None = None, content: str = "") -> MessageRow:
        if role is None:  # the turn after the last one
            last = self.rows[-1].message()["role"] if self.rows else "assistant"
            role = "assistant" if last == "user" else "user"
        row = self._append(role, content)
        self._changed()
        row.content.setFocus()
        return row

    def remove_row(self, row: MessageRow) -> None:
        self.rows.remove(row)
        self.rows_layout.removeWidget(row)
        row.deleteLater()
        self._changed()

    def move_row(self, row: MessageRow, step: int) -> None:
        index = self.rows.index(row)
        target = index + step
        if not 0 <= target < len(self.rows):
            return
        self.rows.insert(target, self.rows.pop(index))
        self.rows_layout.removeWidget(row)
        self.rows_layout.insertWidget(target, row)
        self._changed()

    def _append(self, role: str, content: str) -> MessageRow:
        row = MessageRow(self, role, content)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        return row

    def _row_changed(self) -> None:
        self._changed()

    def messages(self) -> list[dict[str, Any]]:
        return [row.message() for row in self.rows]

    # modes --------------------------------------------------------------------------------------

    def json_mode(self) -> bool:
        return self._json_mode

    def set_json_mode(self, on: bool) -> None:
        if on == self._json_mode:
            return
        if not on:
            rows = message_rows(JsonEditor.value(self))
            if json_error(self.text.toPlainText()) or rows is None:
                self.mode_error.setText("These messages cannot be shown as rows (fix the JSON, or keep only "
                                        "role and text content); keep editing them as JSON.")
                self.mode_error.show()
                self.mode_button.blockSignals(True)
                self.mode_button.setChecked(True)
                self.mode_button.blockSignals(False)
                return
        self.mode_error.hide()
        value = self.value()
        self._json_mode = on
        self._loading = True
        try:
            self._show(value)
        finally:
            self._loading = False

    # the editor interface -----------------------------------------------------------------------

    def value(self) -> Any:
        if self._json_mode:
            return super().value()
        messages = self.messages()
        # An input without a default is left unset by removing every row.
        return messages if messages or self.spec.default is not None else None

    def commit(self) -> None:
        if self._json_mode:
            super().commit()
        else:
            ValueEditor.commit(self)

    def set_value(self, value: Any) -> None:
        if self._json_mode:
            super().set_value(value)
        else:
            ValueEditor.set_value(self, value)

    def _show(self, value: Any) -> None:
        rows = message_rows(value)
        if rows is None:
            self._json_mode = True
        self.mode_button.blockSignals(True)
        self.mode_button.setChecked(self._json_mode)
        self.mode_button.blockSignals(False)
        self.add_button.setVisible(not self._json_mode)
        if self._json_mode:
            self.stack.setCurrentWidget(self.json_page)
            super()._show(value)
            return
        self.stack.setCurrentWidget(self.rows_page)
        for row in self.rows:
            self.rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for role, content in rows or []:
            self._append(role, content)


EDITORS: dict[ValueType, type[ValueEditor]] = {
    ValueType.STRING: StringEditor,
    ValueType.TEXT: TextEditor,
    ValueType.JSON: JsonEditor,
    ValueType.NUMBER: NumberEditor,
    ValueType.INTEGER: IntegerEditor,
    ValueType.BOOLEAN: BooleanEditor,
    ValueType.ENUM: EnumEditor,
    ValueType.KEY_VALUE: KeyValueEditor,
    ValueType.STRING_LIST: StringListEditor,
    ValueType.FILE: FileEditor,
    ValueType.CONNECTION: ConnectionEditor,
    ValueType.MODEL: ModelEditor,
}


def is_messages_input(spec: Input) -> bool:
    """A chat conversation: the JSON input named `messages` (chat completion, vision, threads)."""
    return spec.type is ValueType.JSON and spec.key == "messages"


def editor_class(spec: Input) -> type[ValueEditor]:
    """The editor for one declared input: chosen by its ValueType, and for JSON by its shape."""
    if is_messages_input(spec):
        return MessagesEditor
    return EDITORS[spec.type]


def create_editor(spec: Input, context: EditorContext, parent: QWidget | None = None,
                  action_id: str | None = None) -> ValueEditor:
    editor = editor_class(spec)(spec, context, parent)
    if isinstance(editor, ModelEditor):
        editor.set_kind(model_kind(action_id))
    return editor
