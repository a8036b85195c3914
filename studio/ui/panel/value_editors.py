"""The editors of plain values (text, JSON, numbers, booleans, choices) and what every editor
shares: the `ValueEditor` interface, the `EditorContext` it reads, committing on focus-out."""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.catalog.models import Input

from .models_source import ModelSource


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
